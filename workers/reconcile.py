"""Reconciliation with the rail: the safety net under its pushed notifications.

The rail retries each notification for a while, but a long API outage can outlast it, and
a restarted rail forgets the entries it held. So every worker, now and then, asks the rail
about transfers that have stayed `pending` well past their submission: a decision the rail
made is applied as if it had been pushed (deduplicated with any push that did arrive,
since applying an outcome is a guarded transition), and an entry the rail no longer knows
is submitted again (idempotent by our transaction id)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from arq.connections import ArqRedis

from ledger import outbox
from ledger.sql import QUERIES
from rails.client import EntryReceipt, RailClient, RailUnavailable

Q = QUERIES["transactions"]
log = logging.getLogger(__name__)

# Transfers one pass asks the rail about: bounds the pass; the least recently checked go
# first, so a transfer the rail keeps pending forever does not hide the others.
RECONCILE_BATCH_MAX = 100
# What the rail's entry statuses mean as notifications.
DECIDED = {"settled": "entry.settled", "returned": "entry.returned"}


def _notification(receipt: EntryReceipt) -> dict[str, Any]:
    entry = receipt.model_dump(mode="json")
    return {
        "id": f"reconcile-{receipt.id}-{receipt.status}",
        "type": DECIDED[receipt.status],
        "entry": entry,
    }


async def _one(
    connection: asyncpg.Connection, transaction_id: str, receipt: EntryReceipt | None
) -> list[outbox.Job]:
    if receipt is None:
        # The rail lost the entry: submit it again (the job sees no submission recorded).
        await connection.execute(Q["forget_submission"], transaction_id)
        return await outbox.reopen(connection, f"submit:{transaction_id}")
    if receipt.status not in DECIDED:
        return []
    notification = _notification(receipt)
    return await outbox.add(
        connection, f"outcome:{notification['id']}", "apply_outcome", notification
    )


async def reconcile(
    pool: asyncpg.Pool, redis: ArqRedis, rail: RailClient, queue_name: str, after_ms: int
) -> int:
    """One pass; returns how many transfers got a job (an outcome or a resubmission)."""
    rows = await pool.fetch(Q["overdue_submissions"], after_ms, RECONCILE_BATCH_MAX)
    jobs: list[outbox.Job] = []
    for row in rows:
        try:
            receipt = await rail.get(row["id"])
        except RailUnavailable:
            log.warning("rail unavailable; reconciliation stops until the next pass")
            break
        async with pool.acquire() as connection, connection.transaction():
            jobs += await _one(connection, row["id"], receipt)
    await outbox.enqueue(redis, jobs, queue_name)
    return len(jobs)


async def reconcile_forever(
    pool: asyncpg.Pool,
    redis: ArqRedis,
    rail: RailClient,
    queue_name: str,
    interval_ms: int,
    after_ms: int,
) -> None:
    """Runs until cancelled at worker shutdown; an error in one pass never ends it."""
    assert interval_ms > 0 and after_ms >= 0
    while True:  # Intentionally unbounded: lives exactly as long as the worker process.
        await asyncio.sleep(interval_ms / 1000)
        try:
            queued = await reconcile(pool, redis, rail, queue_name, after_ms)
            if queued:
                log.info("reconciliation queued %d job(s)", queued)
        except Exception:  # The last line of recovery must outlive any one failure.
            log.warning("reconciliation failed; trying again next interval", exc_info=True)
