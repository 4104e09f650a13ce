"""What a fault run must prove afterwards, each from its own source of truth:

- the database: every transfer reached a final state, no job is left open, and the ledger
  audits clean (`ledger.audit.violations`);
- the client's record: every transfer the API confirmed exists, and no other (a retried
  POST never ran twice);
- the rail's own records: one entry per rail transfer, with our trace number and a status
  that matches ours, and no entry we do not know (its resubmission counter shows how often
  a job ran again and was answered idempotently);
- the receiver: every event arrived with a valid signature (deduplicated on `webhook-id`,
  each exactly once), nothing arrived that is not an event, and no transfer has the same
  outcome event twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import asyncpg

from ledger import audit
from tests.faults.receiver import Receiver
from tests.faults.traffic import Traffic

POLL_S = 0.1
RAIL_LOOKUPS_IN_FLIGHT = 16
# Our final status for each final status of the rail's entry.
RAIL_STATUS = {"settled": "succeeded", "returned": "failed"}


class Deployment(Protocol):
    """What the checks need of a running system (tests.faults.system.System has it)."""

    @property
    def rail_url(self) -> str: ...

    async def connect(self) -> asyncpg.Connection: ...

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]: ...


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout_s: float, what: str, poll_s: float = POLL_S
) -> Any:
    """Await `check()` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(poll_s)


async def settled(system: Deployment, marketplace_id: str, timeout_s: float) -> float:
    """Wait until the marketplace has no pending transfer and no open job, and every
    event was received; returns how long that took."""
    started = time.monotonic()

    async def quiet() -> bool:
        rows = await system.fetch(
            """SELECT
                 (SELECT count(*) FROM transactions
                  WHERE marketplace_id = $1 AND status = 'pending') AS pending,
                 (SELECT count(*) FROM outbox) AS open_jobs""",
            marketplace_id,
        )
        return rows[0]["pending"] == 0 and rows[0]["open_jobs"] == 0

    await eventually(quiet, timeout_s, "every transfer final and every job done")
    return time.monotonic() - started


@dataclass
class Verdict:
    transfers: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    open_jobs: int = 0
    lost_transfers: list[str] = field(default_factory=list)
    duplicated_transfers: list[str] = field(default_factory=list)
    rail_transfers: int = 0
    rail_entries: int = 0
    rail_resubmissions: int = 0
    rail_missing: list[str] = field(default_factory=list)
    rail_mismatched: list[str] = field(default_factory=list)
    rail_unknown: int = 0
    events: int = 0
    undelivered: list[str] = field(default_factory=list)
    unknown_messages: list[str] = field(default_factory=list)
    redeliveries: int = 0
    bad_signatures: int = 0
    repeated_outcomes: list[str] = field(default_factory=list)
    failed_deliveries: int = 0
    audit: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return (
            len(self.pending)
            + len(self.lost_transfers)
            + len(self.rail_missing)
            + len(self.undelivered)
            + self.failed_deliveries
        )

    @property
    def duplicated(self) -> int:
        return (
            len(self.duplicated_transfers)
            + self.rail_unknown
            + len(self.repeated_outcomes)
            + len(self.unknown_messages)
        )

    def problems(self) -> list[str]:
        """Everything that is wrong, one line each; empty when the run is sound."""
        found = [f"audit: {line}" for line in self.audit]
        for name in (
            "pending",
            "lost_transfers",
            "duplicated_transfers",
            "rail_missing",
            "rail_mismatched",
            "undelivered",
            "unknown_messages",
            "repeated_outcomes",
        ):
            values = getattr(self, name)
            if values:
                found.append(f"{name} ({len(values)}): {values[:10]}")
        for name in ("open_jobs", "rail_unknown", "bad_signatures", "failed_deliveries"):
            if getattr(self, name):
                found.append(f"{name}: {getattr(self, name)}")
        return found


async def verify(system: Deployment, traffic: Traffic, receiver: Receiver) -> Verdict:
    """Collect the verdict of a run that has settled (see `settled`)."""
    marketplace_id = traffic.marketplace.id
    verdict = Verdict()
    connection = await system.connect()
    try:
        await _transfers(connection, marketplace_id, traffic, verdict)
        await _events(connection, marketplace_id, receiver, verdict)
        rail_rows = await connection.fetch(
            "SELECT id, status, rail_trace_number FROM transactions "
            "WHERE rail_entry_kind IS NOT NULL"
        )
        verdict.audit = await audit.violations(connection)
    finally:
        await connection.close()
    await _rail(system, rail_rows, verdict)
    return verdict


async def _transfers(
    connection: Any, marketplace_id: str, traffic: Traffic, verdict: Verdict
) -> None:
    rows = await connection.fetch(
        "SELECT id, kind, status FROM transactions WHERE marketplace_id = $1", marketplace_id
    )
    for row in rows:
        verdict.transfers[row["kind"]] = verdict.transfers.get(row["kind"], 0) + 1
    verdict.pending = [row["id"] for row in rows if row["status"] == "pending"]
    in_database = {row["id"] for row in rows}
    verdict.lost_transfers = sorted(set(traffic.created) - in_database)
    verdict.duplicated_transfers = sorted(in_database - set(traffic.created))
    verdict.open_jobs = await connection.fetchval("SELECT count(*) FROM outbox")


async def _events(
    connection: Any, marketplace_id: str, receiver: Receiver, verdict: Verdict
) -> None:
    # The events since the callback exists (the marketplace's own first records precede it).
    events = await connection.fetch(
        """SELECT e.id FROM events e
           WHERE e.marketplace_id = $1 AND e.occurred_at >=
                 (SELECT min(created_at) FROM callbacks WHERE marketplace_id = $1)""",
        marketplace_id,
    )
    event_ids = {row["id"] for row in events}
    verdict.events = len(events)
    verdict.undelivered = sorted(event_ids - set(receiver.messages))
    verdict.unknown_messages = sorted(set(receiver.messages) - event_ids)
    verdict.redeliveries = receiver.redeliveries
    verdict.bad_signatures = receiver.bad_signatures
    # A transfer's outcome (succeeded / failed) is one state change: twice would mean an
    # outcome applied twice.
    repeated = await connection.fetch(
        """SELECT e.entity_id, e.type FROM events e JOIN transactions t ON t.id = e.entity_id
           WHERE e.marketplace_id = $1 AND (e.type LIKE '%.succeeded' OR e.type LIKE '%.failed')
           GROUP BY e.entity_id, e.type HAVING count(*) > 1""",
        marketplace_id,
    )
    verdict.repeated_outcomes = [f"{row['entity_id']} {row['type']}" for row in repeated]
    verdict.failed_deliveries = await connection.fetchval(
        """SELECT count(*) FROM callback_deliveries d JOIN events e ON e.id = d.event_id
           WHERE e.marketplace_id = $1 AND d.status <> 'succeeded'""",
        marketplace_id,
    )


async def _rail(system: Deployment, rail_rows: list[Any], verdict: Verdict) -> None:
    """Every rail transfer of the whole system against the rail's own records."""
    verdict.rail_transfers = len(rail_rows)
    semaphore = asyncio.Semaphore(RAIL_LOOKUPS_IN_FLIGHT)
    found = 0
    async with aiohttp.ClientSession() as session:

        async def check(row: Any) -> None:
            nonlocal found
            async with semaphore, session.get(f"{system.rail_url}/entries/{row['id']}") as answer:
                if answer.status == 404:
                    verdict.rail_missing.append(row["id"])
                    return
                assert answer.status == 200, await answer.text()
                entry = await answer.json()
            found += 1
            ours = (row["status"], row["rail_trace_number"])
            theirs = (RAIL_STATUS.get(entry["status"], entry["status"]), entry["trace_number"])
            if ours != theirs:
                verdict.rail_mismatched.append(f"{row['id']}: ours {ours}, rail {theirs}")

        await asyncio.gather(*(check(row) for row in rail_rows))
        async with session.get(f"{system.rail_url}/healthz") as answer:
            health = await answer.json()
    verdict.rail_entries = health["entries"]
    verdict.rail_resubmissions = health.get("resubmissions", 0)
    verdict.rail_unknown = verdict.rail_entries - found
