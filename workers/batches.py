"""Running outbox jobs in batches: one queue entry (`protocol.batch_job`) claims many due
rows of one job name, works on them together, and claims again while batches come back
full. Rows are leased by the claim (`outbox.claim_due`), so batches run side by side and a
row is never worked on twice at once; a batch cut short hands its rows back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import jobqueue
from ledger import outbox
from ledger.outbox import Claimed
from workers.context import WorkerContext

# A batch that failed with an error gives its rows back after this, doubled per try: a
# bug must not spin.
FAILED_BATCH_RETRY_DELAY_MS_BASE = 1_000
FAILED_BATCH_RETRY_DELAY_MS_MAX = 300_000

Work = Callable[[WorkerContext, list[Claimed]], Awaitable[None]]
Busy = Callable[[WorkerContext], list[str]]


def _none_busy(ctx: WorkerContext) -> list[str]:
    return []


async def run(
    ctx: WorkerContext,
    job_name: str,
    limit: int,
    lease_ms: int,
    work: Work,
    busy: Busy = _none_busy,
) -> None:
    """Claim due rows named `job_name`, `limit` at a time, and hand each batch to `work`,
    until a batch comes back short (rows written later have batch jobs of their own).
    Rows whose ids start with a prefix `busy` names are left for later."""
    while True:
        claimed = await outbox.claim_due(ctx["pool"], job_name, limit, lease_ms, busy(ctx))
        if claimed:
            async with _handed_back_unless_done(ctx, job_name, claimed):
                await work(ctx, claimed)
        if len(claimed) < limit:
            return


@contextlib.asynccontextmanager
async def _handed_back_unless_done(
    ctx: WorkerContext, job_name: str, claimed: list[Claimed]
) -> AsyncIterator[None]:
    """A batch cut short gives back what it has not done rather than leaving it leased:
    at once when the worker stops or the job times out, after a growing backoff when it
    failed."""
    ids = [job.id for job in claimed]
    redis, queue_name = ctx["redis"], ctx["settings"].queue_name
    try:
        yield
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):  # Best effort: the lease ends anyway.
            await outbox.release_many(ctx["pool"], ids)
            await jobqueue.enqueue(redis, [(job_name, job_id) for job_id in ids], queue_name)
        raise
    except Exception:
        with contextlib.suppress(Exception):  # PostgreSQL or Redis may be what failed.
            due_ms = await outbox.back_off(
                ctx["pool"], ids, FAILED_BATCH_RETRY_DELAY_MS_BASE, FAILED_BATCH_RETRY_DELAY_MS_MAX
            )
            await jobqueue.enqueue_due(redis, job_name, due_ms, queue_name)
        raise
