"""Jobs that move a transfer along the rail: submit it, then apply what the rail decided."""

from __future__ import annotations

import logging

from arq import Retry

import jobqueue
from ledger import outbox, outcomes, submissions
from ledger.status import Status
from rails.client import EntryRequest, RailRejected, RailUnavailable
from workers.context import WorkerContext

log = logging.getLogger(__name__)

# Backoff while the rail is unreachable: our own outage must never fail a transfer, so the
# job keeps retrying (and the sweeper re-enqueues it if arq gives up).
RAIL_RETRY_DELAY_MS_BASE = 200
RAIL_RETRY_DELAY_MS_MAX = 30_000
RAIL_NOTIFICATIONS_PATH = "/_rail/notifications"
# The rail's answer when it already holds an entry under our id with other details.
RAIL_CONFLICT = 409


def _backoff_ms(job_try: int) -> int:
    assert job_try >= 1
    return min(RAIL_RETRY_DELAY_MS_MAX, RAIL_RETRY_DELAY_MS_BASE * (1 << (job_try - 1)))


async def submit_transfer(ctx: WorkerContext, outbox_id: str) -> None:
    """Hand a pending rail transfer (credit, reversal, settlement) to the rail, keyed by our
    transaction id so that a second submission (a job run twice) gets the same entry and
    trace number back."""
    pool = ctx["pool"]
    args = await outbox.load_args(pool, outbox_id)
    if args is None:
        return  # Already done: a duplicate run of an at-least-once job.
    submission = await submissions.get(pool, args["transaction_id"])
    if submission.submitted_at is not None:
        await outbox.mark_done(pool, outbox_id)
        return
    if submission.status != Status.PENDING:
        await _late_trace_number(ctx, outbox_id, submission.id)
        return
    entry = EntryRequest(
        id=submission.id,
        kind=submission.rail_entry_kind,
        routing_number=submission.routing_number,
        account_number=submission.account_number,
        name=submission.account_name,
        amount_cents=submission.amount_cents,
        notify_url=ctx["settings"].api_public_url + RAIL_NOTIFICATIONS_PATH,
    )
    try:
        receipt = await ctx["rail"].submit(entry)
    except RailUnavailable as error:
        log.warning("rail unavailable for %s: %s", submission.id, error)
        raise Retry(defer=_backoff_ms(ctx["job_try"]) / 1000) from error
    except RailRejected as error:
        if error.status != RAIL_CONFLICT:
            raise
        # The rail took this entry before, with the bank details of that time, and a
        # notice of change has corrected them since (ledger/sql/customers.sql). It is
        # the same entry: keep the one the rail holds, never make a second.
        log.info("rail holds %s with earlier bank details; keeping that entry", submission.id)
        await _late_trace_number(ctx, outbox_id, submission.id)
        return
    assert receipt.id == submission.id
    await _submitted(ctx, outbox_id, submission.id, receipt.trace_number)


async def _late_trace_number(ctx: WorkerContext, outbox_id: str, transaction_id: str) -> None:
    """The rail decided the transfer before our record of its submission committed: this
    job died after the rail took the entry, and the outcome was applied meanwhile. Nothing
    is submitted again (the transfer is no longer pending); its trace number is read from
    the rail's own record, so that the transfer keeps its bank reference."""
    try:
        receipt = await ctx["rail"].get(transaction_id)
    except RailUnavailable as error:
        log.warning("rail unavailable for %s: %s", transaction_id, error)
        raise Retry(defer=_backoff_ms(ctx["job_try"]) / 1000) from error
    await _submitted(
        ctx, outbox_id, transaction_id, None if receipt is None else receipt.trace_number
    )


async def _submitted(
    ctx: WorkerContext, outbox_id: str, transaction_id: str, trace_number: str | None
) -> None:
    await submissions.record_submitted(ctx["pool"], outbox_id, transaction_id, trace_number)


async def apply_outcome(ctx: WorkerContext, outbox_id: str) -> None:
    """Apply a rail notification in one transaction; a second run changes nothing."""
    pool = ctx["pool"]
    args = await outbox.load_args(pool, outbox_id)
    if args is None:
        return  # Already done: a duplicate run of an at-least-once job.
    async with pool.acquire() as connection, connection.transaction():
        jobs = await outcomes.apply_rail_outcome(connection, args)
        await outbox.mark_done(connection, outbox_id)
    await jobqueue.enqueue(ctx["redis"], jobs, ctx["settings"].queue_name)
