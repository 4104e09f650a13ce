"""The outbox sweeper: a loop in every worker process that re-enqueues open jobs whose
queue entry was lost (Redis flushed, a process killed between commit and enqueue).

Several workers may sweep at once: rows are claimed with SKIP LOCKED and enqueued with
`_job_id` = the row id, so a job is never queued twice. Every 10 s the sweeper also
purges expired idempotency keys, so that the table does not grow forever (finished jobs
delete their own rows), and every minute it gives a submit job back to any pending rail
transfer that has lost its own (a row deleted by hand before the transfer was submitted):
every pending transfer stays reachable by some recovery path (the job, this scan, or
reconciliation once submitted)."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
from arq.connections import ArqRedis

import jobqueue
from ledger import idempotency, outbox

log = logging.getLogger(__name__)

# Idempotency keys expire after a day: purging them every 10 s keeps each pass small.
PURGE_INTERVAL_S = 10
# How often the jobless-transfer scan runs: such transfers are rare (an operator removed
# their row), so a minute's wait is fine, and the scan stays off the hot path.
JOBLESS_SCAN_INTERVAL_S = 60


async def sweep_forever(
    redis: ArqRedis,
    pool: asyncpg.Pool,
    queue_name: str,
    interval_ms: int,
    stale_after_ms: int,
) -> None:
    """Runs until cancelled at worker shutdown; an error in one sweep never ends it."""
    assert interval_ms > 0 and stale_after_ms >= 0
    purged_at = scanned_at = 0.0
    while True:  # Intentionally unbounded: lives exactly as long as the worker process.
        try:
            swept = await outbox.claim_stale(pool, stale_after_ms)
            await jobqueue.enqueue(redis, swept, queue_name)
            if swept:
                log.info("sweeper re-enqueued %d job(s)", len(swept))
            if time.monotonic() - purged_at > PURGE_INTERVAL_S:
                await idempotency.purge(pool)
                purged_at = time.monotonic()
            if time.monotonic() - scanned_at > JOBLESS_SCAN_INTERVAL_S:
                jobless = await outbox.submit_jobless(pool, stale_after_ms)
                await jobqueue.enqueue(redis, jobless, queue_name)
                scanned_at = time.monotonic()
        except Exception:
            # Not only PostgresError: a connection torn down by a database restart can also
            # surface as asyncpg's InterfaceError or InternalClientError. The sweeper is the
            # last line of recovery, so whatever fails one sweep must not end the loop.
            log.warning("sweep failed; trying again next interval", exc_info=True)
        await asyncio.sleep(interval_ms / 1000)
