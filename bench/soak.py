"""Invariants under load: mixed marketplace traffic for T minutes with the ledger audited
every few seconds; the first drift is reported at once and ends the run with status 1.

    python bench/soak.py --minutes 10 [--concurrency 8] [--audit-every 10] [--workers 2]
    python bench/soak.py --minutes 10 --api http://127.0.0.1:8090 \\
        --database-url postgresql://... --rail-url http://127.0.0.1:8091   # a running system

Traffic: funded orders (card debits), credits to bank accounts and to payable accounts,
settlements, refunds, reversals of succeeded credits, one in ten paying to an account the
rail returns, with signed callbacks to a local receiver. Every `--audit-every` seconds, in
one consistent snapshot: `ledger.audit.violations` (postings sum to zero, balances equal
their lines, every order's escrow equals its transfers) and no job left open past
`--stuck-after` seconds. At the end, once everything has settled, the full verdict of the
fault runs (nothing lost or duplicated, the rail's records match, every event delivered).

Without `--api` it starts its own system (embedded PostgreSQL and Valkey, the rail with
instant outcomes, the API and the workers as processes) and removes it afterwards. A
running system must allow callbacks to loopback (`ballast up` does) and carry no other
traffic: the final checks count every job and every rail entry.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ledger import audit  # noqa: E402
from tests.faults import checks  # noqa: E402
from tests.faults.receiver import Receiver  # noqa: E402
from tests.faults.system import System, Tuning  # noqa: E402
from tests.faults.traffic import Client, Traffic, open_marketplace  # noqa: E402

# How long traffic may take to settle after the soak before it counts as stuck.
SETTLE_TIMEOUT_S = 300.0


class Drift(Exception):
    """An invariant broke while the traffic ran."""


@dataclass
class External:
    """A system already running (e.g. `ballast up`), reached by its URLs."""

    api_url: str
    database_url: str
    rail_url: str

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await self.connect()
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _check(target: checks.Deployment, stuck_after_s: float) -> list[str]:
    """The invariants, read in one snapshot: drift, one line per problem."""
    connection = await target.connect()
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            found = await audit.violations(connection)
            stuck = await connection.fetch(
                """SELECT id, job FROM outbox
                   WHERE not_before < now() - make_interval(secs => $1)
                   LIMIT 10""",
                stuck_after_s,
            )
    finally:
        await connection.close()
    return found + [f"job open for more than {stuck_after_s} s: {dict(row)}" for row in stuck]


async def _watch(
    target: checks.Deployment, stop: asyncio.Event, args: argparse.Namespace, started: float
) -> int:
    """Check every `audit_every` seconds until `stop`; raise Drift on the first problem."""
    audits = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.audit_every)
        checked_at = time.monotonic()
        problems = await _check(target, args.stuck_after)
        audits += 1
        elapsed = checked_at - started
        if problems:
            print(f"DRIFT at {elapsed:.0f} s (audit {audits}):", flush=True)
            for problem in problems:
                print(f"  {problem}", flush=True)
            raise Drift
        _say(f"{elapsed:7.0f} s  audit {audits}: clean ({time.monotonic() - checked_at:.2f} s)")
    return audits


async def _soak(target: checks.Deployment, api_url: str, args: argparse.Namespace) -> int:
    receiver = Receiver()
    async with receiver.serving() as callback_url, aiohttp.ClientSession() as session:
        client = Client(session, api_url)
        marketplace = await open_marketplace(client, receiver, callback_url)
        traffic = Traffic(marketplace)
        stop = asyncio.Event()
        started = time.monotonic()

        async def timer() -> None:
            await asyncio.sleep(args.minutes * 60)
            stop.set()

        drifted = False
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(timer())
                group.create_task(traffic.run_until(stop, args.concurrency))
                watcher = group.create_task(_watch(target, stop, args, started))
        except* Drift:
            drifted = True  # Reported by the watcher as it found it; the traffic is stopped.
        if drifted:
            return 1
        traffic_s = time.monotonic() - started
        _say(f"traffic stopped after {traffic_s:.0f} s; settling")
        settle_s = await checks.settled(target, marketplace.id, SETTLE_TIMEOUT_S)
        verdict = await checks.verify(target, traffic, receiver)
    transfers = sum(verdict.transfers.values())
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(verdict.transfers.items()))
    print(f"soak:       {traffic_s / 60:.1f} min, {traffic.units_done:,} orders")
    print(f"transfers:  {transfers:,} ({kinds}); {transfers / traffic_s:.1f}/s")
    print(
        f"audits:     {watcher.result()} during the run, all clean; settled {settle_s:.1f} s after"
    )
    print(f"client:     {client.stats.requests:,} requests, retries: {dict(client.stats.retries)}")
    print(
        f"final:      lost {verdict.lost}, duplicated {verdict.duplicated}, audit "
        f"{'clean' if not verdict.audit else 'VIOLATED'}, {verdict.events:,} events delivered"
    )
    for problem in verdict.problems():
        print(f"PROBLEM: {problem}")
    return 0 if not verdict.problems() else 1


async def _run(args: argparse.Namespace) -> int:
    if args.api is not None:
        if not (args.database_url and args.rail_url):
            sys.exit("--api needs --database-url and --rail-url")
        return await _soak(External(args.api, args.database_url, args.rail_url), args.api, args)
    system = System(
        Tuning(workers=args.workers, sweep_interval_ms=1000, outbox_stale_after_ms=5000)
    )
    _say(f"starting the system ({args.workers} workers) ...")
    await system.start()
    try:
        code = await _soak(system, system.api_url, args)
        system.assert_running()
        return code
    finally:
        await system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=8, help="orders in flight")
    parser.add_argument("--audit-every", type=float, default=10.0, help="seconds")
    parser.add_argument(
        "--stuck-after", type=float, default=120.0, help="seconds a due job may stay open"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--api", default=None, help="a running system's API URL")
    parser.add_argument("--database-url", default=None, help="with --api: its database")
    parser.add_argument("--rail-url", default=None, help="with --api: its rail")
    args = parser.parse_args()
    sys.exit(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()
