"""A run of marketplace traffic with faults injected while it flows: workers killed with
SIGKILL, Redis flushed and restarted empty, PostgreSQL restarted. Faults are spread over
the run by progress (the i-th of n falls when i/(n+1) of the units are done), so each one
hits a system that is busy. Shared by the CI-sized test and `bench/faults.py`.

For each fault the run records when it struck (PostgreSQL's clock) and which jobs were
open then; afterwards, its recovery time is how long it took until every one of those
jobs was done. A PostgreSQL restart also records how long the API answered 503."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from tests.faults import checks
from tests.faults.receiver import Receiver
from tests.faults.system import System
from tests.faults.traffic import Client, Stats, Traffic, open_marketplace

KILL = "worker SIGKILL"
FLUSH = "Redis FLUSHALL"
REDIS_RESTART = "Redis restart (empty)"
POSTGRES_RESTART = "PostgreSQL restart"
API_POLL_S = 0.05
# The API serves again as soon as PostgreSQL does (about a second); this bounds the wait.
API_BACK_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Plan:
    units: int
    concurrency: int
    kills: int
    redis_flushes: int = 1
    redis_restarts: int = 1
    postgres_restarts: int = 1
    # How long everything may take to settle once the traffic has ended.
    settle_timeout_s: float = 120.0

    def faults(self) -> list[str]:
        """The faults in the order they strike: the kills spread between the others."""
        others = (
            [FLUSH] * self.redis_flushes
            + [POSTGRES_RESTART] * self.postgres_restarts
            + [REDIS_RESTART] * self.redis_restarts
        )
        order: list[str] = []
        kills_left = self.kills
        for position, other in enumerate(others):
            share = kills_left // (len(others) - position + 1)
            order += [KILL] * share + [other]
            kills_left -= share
        return order + [KILL] * kills_left


@dataclass(frozen=True)
class OpenWork:
    """What the jobs open at a fault were for: transfers to submit, transfers to decide
    and deliveries to make. A finished job deletes its row, so its work's own timestamps
    tell when it was done."""

    to_submit: list[str]
    to_decide: list[str]
    to_deliver: list[str]


@dataclass
class Fault:
    name: str
    at: datetime
    open_jobs: list[str]
    work: OpenWork
    api_down_s: float | None = None
    recovered_s: float | None = None


@dataclass
class Report:
    plan: Plan
    faults: list[Fault] = field(default_factory=list)
    traffic_s: float = 0.0
    settle_s: float = 0.0
    client: Stats = field(default_factory=Stats)
    verdict: checks.Verdict = field(default_factory=checks.Verdict)


async def run(system: System, plan: Plan, log: Callable[[str], None] = lambda _: None) -> Report:
    """Drive `plan` against `system`, inject its faults, wait for everything to settle and
    return the report (its verdict lists any problem; the caller decides what to do)."""
    report = Report(plan)
    receiver = Receiver()
    async with receiver.serving() as callback_url, aiohttp.ClientSession() as session:
        client = Client(session, system.api_url, stats=report.client)
        marketplace = await open_marketplace(client, receiver, callback_url)
        traffic = Traffic(marketplace)
        started = time.monotonic()
        # Either failing ends both: a fault that breaks the traffic must not be waited on.
        async with asyncio.TaskGroup() as group:
            group.create_task(traffic.run(plan.units, plan.concurrency))
            group.create_task(_inject(system, plan, traffic, report, session, log))
        report.traffic_s = time.monotonic() - started
        log(f"traffic done in {report.traffic_s:.1f} s; settling")
        report.settle_s = await checks.settled(system, marketplace.id, plan.settle_timeout_s)
        report.verdict = await checks.verify(system, traffic, receiver)
    await _recovery_times(system, report.faults)
    return report


async def _inject(
    system: System,
    plan: Plan,
    traffic: Traffic,
    report: Report,
    session: aiohttp.ClientSession,
    log: Callable[[str], None],
) -> None:
    faults = plan.faults()
    kills = 0
    for number, name in enumerate(faults, start=1):
        threshold = plan.units * number // (len(faults) + 1)
        await traffic.reached(threshold)
        fault = await _snapshot(system, name)
        log(f"fault {number}/{len(faults)} at {traffic.units_done} units: {name}")
        if name == KILL:
            await system.kill_worker(kills % len(system.workers))
            kills += 1
        elif name == FLUSH:
            await system.flush_redis()
        elif name == REDIS_RESTART:
            await system.restart_valkey()
        else:
            assert name == POSTGRES_RESTART, name
            fault.api_down_s = await _api_outage(system, session, system.restart_postgres)
        report.faults.append(fault)


async def _snapshot(system: System, name: str) -> Fault:
    """PostgreSQL's clock and the open jobs with what they are for, just before a fault."""
    rows = await system.fetch(
        """SELECT clock_timestamp() AS at,
                  coalesce(array_agg(id), '{}') AS open,
                  coalesce(array_agg(args->>'transaction_id')
                           FILTER (WHERE job = 'submit_transfer'), '{}') AS to_submit,
                  coalesce(array_agg(args->'entry'->>'id')
                           FILTER (WHERE job = 'apply_outcome'), '{}') AS to_decide,
                  coalesce(array_agg(args->>'delivery_id')
                           FILTER (WHERE job = 'deliver_callback'), '{}') AS to_deliver
           FROM outbox"""
    )
    row = rows[0]
    work = OpenWork(list(row["to_submit"]), list(row["to_decide"]), list(row["to_deliver"]))
    return Fault(name, row["at"], list(row["open"]), work)


async def _api_outage(
    system: System, session: aiohttp.ClientSession, fault: Callable[[], Awaitable[Any]]
) -> float:
    """Run `fault`, then return how long after it began the API answered /healthz again."""
    started = time.monotonic()
    await fault()
    while time.monotonic() - started < API_BACK_TIMEOUT_S:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(f"{system.api_url}/healthz") as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        await asyncio.sleep(API_POLL_S)
    raise AssertionError(f"the API did not come back within {API_BACK_TIMEOUT_S} s")


async def _recovery_times(system: System, faults: list[Fault]) -> None:
    for fault in faults:
        rows = await system.fetch(
            """SELECT greatest(
                   (SELECT max(submitted_at) FROM transactions WHERE id = ANY($1::text[])),
                   (SELECT max(updated_at) FROM transactions WHERE id = ANY($2::text[])),
                   (SELECT max(updated_at) FROM callback_deliveries
                    WHERE id = ANY($3::text[]))) AS done""",
            fault.work.to_submit,
            fault.work.to_decide,
            fault.work.to_deliver,
        )
        done = rows[0]["done"]
        fault.recovered_s = 0.0 if done is None else max(0.0, (done - fault.at).total_seconds())
