"""Rail transfers between us and the rail: what a submission sends, the record that the
rail took it (its trace number), the transfers overdue for an outcome, and the outcome
notifications that come back, each kept as an `apply_outcome` job.

The submit and outcome jobs (workers/transfers.py) and reconciliation (workers/reconcile.py)
call the rail; this module is their only way to the transfers' submission state."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger import outbox, protocol
from ledger.outbox import Job
from ledger.records import OverdueTransfer, RailOutcome, Submission
from ledger.sql import QUERIES

Q = QUERIES["submissions"]


async def record_submitted(
    pool: asyncpg.Pool, outbox_id: str, transaction_id: str, trace_number: str | None
) -> None:
    """The rail holds the entry: keep its trace number (once; a second submission changes
    nothing) and mark the submit job done, in one transaction. Without a trace number
    (the rail no longer has the entry) only the job is marked done."""
    traces = {} if trace_number is None else {transaction_id: trace_number}
    await record_submitted_many(pool, [outbox_id], traces)


async def get_many(pool: asyncpg.Pool, transaction_ids: list[str]) -> dict[str, Submission]:
    """The transfers of a submission batch, by id."""
    rows = await pool.fetch(Q["get_many"], transaction_ids)
    return {row["id"]: Submission.from_row(row) for row in rows}


async def record_submitted_many(
    pool: asyncpg.Pool, outbox_ids: list[str], trace_numbers: dict[str, str]
) -> None:
    """`record_submitted` for a batch: the rail holds each entry of `trace_numbers`
    (transaction id -> trace number); those are recorded and the jobs `outbox_ids` marked
    done, in one transaction."""
    async with pool.acquire() as connection, connection.transaction():
        if trace_numbers:
            await connection.execute(
                Q["mark_submitted_many"], list(trace_numbers), list(trace_numbers.values())
            )
        await outbox.mark_done_many(connection, outbox_ids)


async def overdue(pool: asyncpg.Pool, after_ms: int, limit: int) -> list[OverdueTransfer]:
    """Up to `limit` transfers pending more than `after_ms` after their submission, the
    least recently checked first; each is marked checked now."""
    assert after_ms >= 0 and limit >= 1
    rows = await pool.fetch(Q["overdue"], after_ms, limit)
    return [OverdueTransfer.from_row(row) for row in rows]


async def forget(pool: asyncpg.Pool, transaction_id: str) -> list[Job]:
    """The rail never received the entry: clear our record of its submission and make
    sure a submit job exists (its row went when the job last finished); returns that job
    when it is due now, to enqueue."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(Q["forget"], transaction_id)
        return await outbox.reopen(
            connection,
            protocol.submit_job_id(transaction_id),
            protocol.SUBMIT_TRANSFER,
            {"transaction_id": transaction_id},
        )


async def submit_job(connection: asyncpg.Connection, transaction_id: str) -> list[Job]:
    """The job that hands a new rail transfer to the rail, written with the transfer."""
    return await submit_jobs(connection, [transaction_id])


async def submit_jobs(connection: asyncpg.Connection, transaction_ids: list[str]) -> list[Job]:
    """`submit_job` of many transfers, in one statement."""
    return await outbox.add_many(
        connection,
        protocol.SUBMIT_TRANSFER,
        [(protocol.submit_job_id(t), {"transaction_id": t}) for t in transaction_ids],
    )


async def accept_outcome(
    connection: asyncpg.Connection | asyncpg.Pool, outcome: RailOutcome
) -> list[Job]:
    """Keep a rail notification, as received, as the job that applies it; the same
    notification id twice (the rail retrying, or reconciliation finding what was pushed)
    is one job."""
    return await accept_outcomes(connection, [outcome])


async def accept_outcomes(
    connection: asyncpg.Connection | asyncpg.Pool, outcomes: list[RailOutcome]
) -> list[Job]:
    """`accept_outcome` for a batch of notifications (one request of the rail), written in
    one statement."""
    assert all(outcome.notification_id for outcome in outcomes), outcomes
    return await outbox.add_many(
        connection,
        protocol.APPLY_OUTCOME,
        [
            (protocol.outcome_job_id(outcome.notification_id), dict(outcome.notification))
            for outcome in outcomes
        ],
    )


def reconciled_notification(
    transaction_id: str, entry_status: str, entry: dict[str, Any], event_type: str
) -> RailOutcome:
    """The notification the rail would have pushed for a decision reconciliation found."""
    return RailOutcome.from_notification(
        {
            "id": protocol.reconciled_notification_id(transaction_id, entry_status),
            "type": event_type,
            "entry": entry,
        }
    )
