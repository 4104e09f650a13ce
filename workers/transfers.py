"""Jobs that move transfers along the rail: submit them, then apply what the rail decided.

Both run in batches: `submit_batch` claims many due submit rows of the outbox and hands
them to the rail in one request (the rail answers per entry, each idempotent by our id);
`apply_outcomes` claims many kept notifications and applies them in one transaction. The
single-row forms (`submit_transfer`, `apply_outcome`) do the same work for one row."""

from __future__ import annotations

import logging

from pydantic import ValidationError

import jobqueue
from ledger import outbox, outcomes, protocol, submissions
from ledger.outbox import Claimed, Job
from ledger.records import Submission
from ledger.status import Status
from rails.client import EntryRequest, RailRejected, RailUnavailable
from workers import batches
from workers.context import WorkerContext

log = logging.getLogger(__name__)

# Backoff while the rail is unreachable: our own outage must never fail a transfer, so the
# job keeps retrying (and the sweeper re-enqueues it if arq gives up).
RAIL_RETRY_DELAY_MS_BASE = 200
RAIL_RETRY_DELAY_MS_MAX = 30_000
RAIL_NOTIFICATIONS_PATH = "/_rail/notifications"
# The rail's answer when it already holds an entry under our id with other details.
RAIL_CONFLICT = 409
RAIL_ACCEPTED = frozenset({200, 201})
# Rows one submission batch claims: one rail request (the rail takes up to 1,000 entries)
# and one transaction recording them, a few milliseconds each.
SUBMIT_BATCH_MAX = 500
# Notifications one outcome batch applies in one transaction: it holds the locks of the
# transfers (and escrows) it moves until it commits, so it stays short.
OUTCOME_BATCH_MAX = 200
# A claimed row is leased this long: past the rail's request timeout (10 s), so a live
# batch never loses its rows, and a dead one's are taken again soon after.
BATCH_LEASE_MS = 15_000
# An outcome that failed to apply (a bug, or a lock conflict) is tried again after this,
# doubled per try up to the cap.
OUTCOME_RETRY_DELAY_MS_BASE = 1_000
OUTCOME_RETRY_DELAY_MS_MAX = 300_000


async def submit_batch(ctx: WorkerContext) -> None:
    """Submit every due transfer, a batch at a time."""
    await batches.run(ctx, protocol.SUBMIT_TRANSFER, SUBMIT_BATCH_MAX, BATCH_LEASE_MS, _submit)


async def submit_transfer(ctx: WorkerContext, outbox_id: str) -> None:
    """Submit the transfer of one submit row (a batch of one)."""
    args = await outbox.load_args(ctx["pool"], outbox_id)
    if args is None:
        return  # Already done: a duplicate run of an at-least-once job.
    await _submit(ctx, [Claimed(outbox_id, args, created_at=None)])


async def _submit(ctx: WorkerContext, claimed: list[Claimed]) -> None:
    """Hand pending rail transfers (credits, reversals, settlements) to the rail, keyed by
    our transaction ids so that a second submission (a job run twice) gets the same entries
    and trace numbers back."""
    pool = ctx["pool"]
    rows = {job.args["transaction_id"]: job.id for job in claimed}
    found = await submissions.get_many(pool, list(rows))
    done = [rows[t] for t, submission in found.items() if submission.submitted_at is not None]
    # A submit row outlives nothing it submits (transfers are never deleted); one without
    # its transfer is a row written by hand, and has nothing to do.
    done += [row for t, row in rows.items() if t not in found]
    late = [t for t, submission in found.items() if _decided_unrecorded(submission)]
    entries = _entries(
        ctx, [s for s in found.values() if s.submitted_at is None and s.status == Status.PENDING]
    )
    await outbox.mark_done_many(pool, done)
    traces: dict[str, str] = {}
    if entries:
        try:
            traces, conflicts = await _send(ctx, entries)
        except RailUnavailable as error:
            log.warning("rail unavailable for %d entries: %s", len(entries), error)
            await _back_off(ctx, [rows[entry.id] for entry in entries])
            return
        late += conflicts
    if traces:
        await submissions.record_submitted_many(pool, [rows[t] for t in traces], traces)
    for transaction_id in late:
        await _late_trace_number(ctx, rows[transaction_id], transaction_id)


async def _back_off(ctx: WorkerContext, outbox_ids: list[str]) -> None:
    """The rail is unreachable: each row waits out its own backoff (its tries are kept in
    the row), and a batch job is queued for when they fall due; no batch takes them early,
    and our outage never fails a transfer."""
    due_ms = await outbox.back_off(
        ctx["pool"], outbox_ids, RAIL_RETRY_DELAY_MS_BASE, RAIL_RETRY_DELAY_MS_MAX
    )
    await jobqueue.enqueue_due(
        ctx["redis"], protocol.SUBMIT_TRANSFER, due_ms, ctx["settings"].queue_name
    )


def _decided_unrecorded(submission: Submission) -> bool:
    return submission.submitted_at is None and submission.status != Status.PENDING


def _entries(ctx: WorkerContext, pending: list[Submission]) -> list[EntryRequest]:
    """The rail's entries for `pending`. A transfer whose details the rail's contract
    refuses (bank details changed by hand since the API checked them) must not hold up the
    batch: it is logged and left leased, to be tried again when its lease ends."""
    notify_url = ctx["settings"].api_public_url + RAIL_NOTIFICATIONS_PATH
    entries = []
    for submission in pending:
        try:
            entries.append(
                EntryRequest(
                    id=submission.id,
                    kind=submission.rail_entry_kind,
                    routing_number=submission.routing_number,
                    account_number=submission.account_number,
                    name=submission.account_name,
                    amount_cents=submission.amount_cents,
                    notify_url=notify_url,
                )
            )
        except ValidationError as error:
            log.error("cannot submit %s to the rail: %s", submission.id, error)
    return entries


async def _send(
    ctx: WorkerContext, entries: list[EntryRequest]
) -> tuple[dict[str, str], list[str]]:
    """Submit `entries`: (trace number by transaction id, the ids the rail already holds
    with earlier bank details). Raises RailUnavailable when the rail cannot take them now."""
    try:
        results = await ctx["rail"].submit_batch(entries)
    except RailRejected as error:
        # One entry the rail refuses must not hold up the others: send them one by one.
        log.error("rail refused a batch (%s); submitting its entries one by one", error)
        return await _send_one_by_one(ctx, entries)
    traces, conflicts = {}, []
    for result in results:
        if result.status in RAIL_ACCEPTED and result.entry is not None:
            traces[result.id] = result.entry.trace_number
        elif result.status == RAIL_CONFLICT:
            conflicts.append(result.id)
        else:
            raise RailUnavailable(f"the rail could not take {result.id}: {result.error}")
    return traces, conflicts


async def _send_one_by_one(
    ctx: WorkerContext, entries: list[EntryRequest]
) -> tuple[dict[str, str], list[str]]:
    traces, conflicts = {}, []
    for entry in entries:
        try:
            traces[entry.id] = (await ctx["rail"].submit(entry)).trace_number
        except RailRejected as error:
            if error.status == RAIL_CONFLICT:
                conflicts.append(entry.id)
            else:
                # Left leased: tried again when the lease ends, and logged until fixed.
                log.error("rail refused %s: %s", entry.id, error)
    return traces, conflicts


async def _late_trace_number(ctx: WorkerContext, outbox_id: str, transaction_id: str) -> None:
    """The rail decided the transfer before our record of its submission committed: this
    job died after the rail took the entry, and the outcome was applied meanwhile. Nothing
    is submitted again (the transfer is no longer pending); its trace number is read from
    the rail's own record, so that the transfer keeps its bank reference. A conflict (the
    rail took this entry before, with the bank details of that time, and a notice of change
    has corrected them since, ledger/sql/customers.sql) ends the same way: it is the same
    entry, so the one the rail holds is kept and no second is made."""
    try:
        receipt = await ctx["rail"].get(transaction_id)
    except RailUnavailable as error:
        log.warning("rail unavailable for %s: %s", transaction_id, error)
        await _back_off(ctx, [outbox_id])
        return
    trace_number = None if receipt is None else receipt.trace_number
    await submissions.record_submitted(ctx["pool"], outbox_id, transaction_id, trace_number)


async def apply_outcomes(ctx: WorkerContext) -> None:
    """Apply every kept notification, a batch at a time."""
    await batches.run(ctx, protocol.APPLY_OUTCOME, OUTCOME_BATCH_MAX, BATCH_LEASE_MS, _apply_batch)


async def _apply_batch(ctx: WorkerContext, claimed: list[Claimed]) -> None:
    """One transaction for the batch; should it fail (a deadlock with another batch, one
    notification that cannot be applied), each notification in a transaction of its own,
    and one that still fails waits out a backoff of its own."""
    pool = ctx["pool"]
    queue_name = ctx["settings"].queue_name
    try:
        async with pool.acquire() as connection, connection.transaction():
            jobs = await outcomes.apply_rail_outcomes(connection, [job.args for job in claimed])
            await outbox.mark_done_many(connection, [job.id for job in claimed])
    except Exception:
        log.warning("a batch of %d outcomes failed; one by one", len(claimed), exc_info=True)
        jobs, failed = [], []
        for job in claimed:
            try:
                jobs += await _apply(ctx, job)
            except Exception:
                log.exception("applying %s failed; trying again later", job.id)
                failed.append(job.id)
        if failed:
            due_ms = await outbox.back_off(
                pool, failed, OUTCOME_RETRY_DELAY_MS_BASE, OUTCOME_RETRY_DELAY_MS_MAX
            )
            await jobqueue.enqueue_due(ctx["redis"], protocol.APPLY_OUTCOME, due_ms, queue_name)
    await jobqueue.enqueue(ctx["redis"], jobs, queue_name)


async def apply_outcome(ctx: WorkerContext, outbox_id: str) -> None:
    """Apply one kept notification in one transaction; a second run changes nothing."""
    args = await outbox.load_args(ctx["pool"], outbox_id)
    if args is None:
        return  # Already done: a duplicate run of an at-least-once job.
    jobs = await _apply(ctx, Claimed(outbox_id, args, created_at=None))
    await jobqueue.enqueue(ctx["redis"], jobs, ctx["settings"].queue_name)


async def _apply(ctx: WorkerContext, job: Claimed) -> list[Job]:
    async with ctx["pool"].acquire() as connection, connection.transaction():
        jobs = await outcomes.apply_rail_outcome(connection, job.args)
        await outbox.mark_done(connection, job.id)
    return jobs
