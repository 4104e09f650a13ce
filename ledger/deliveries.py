"""Deliveries of events to callbacks: what one attempt needs, what an attempt changes.

The worker (workers/deliveries.py) loads a delivery here, makes the HTTP attempt
(callbacks/), and hands the result back here, which logs it and moves the delivery on in
one transaction: done, retried after the worker's delay, or given up, and the callback
disabled when it asked us to stop (410 Gone) or has failed every delivery for too long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg

from ledger import callbacks, outbox, protocol
from ledger.outbox import Job
from ledger.records import Delivery, DeliveryStatus
from ledger.sql import QUERIES

Q = QUERIES["callbacks"]

# 410 Gone: the receiver asks us to stop (Standard Webhooks).
GONE = 410
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class AttemptResult(Protocol):
    """What one HTTP attempt came to (`callbacks.delivery.Attempt` is one)."""

    @property
    def status_code(self) -> int | None: ...
    @property
    def latency_ms(self) -> int: ...
    @property
    def response_excerpt(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def succeeded(self) -> bool: ...


@dataclass(frozen=True)
class Settled:
    """What recording an attempt decided."""

    #: The delivery's new status: succeeded, retrying or failed.
    status: DeliveryStatus
    #: Milliseconds before the next attempt, or None when there is none.
    retry_delay_ms: int | None
    #: Jobs of a `callback.disabled` event, to enqueue after the commit.
    jobs: list[Job]


async def deliverables(pool: asyncpg.Pool, outbox_ids: list[str]) -> dict[str, Delivery]:
    """The deliveries of `outbox_ids` to attempt now, by job id, in one round trip. A job
    with nothing left to do is marked done; a delivery whose callback was disabled
    meanwhile fails here without an attempt."""
    rows = {row["job_id"]: row for row in await pool.fetch(Q["deliveries_of_jobs"], outbox_ids)}
    found: dict[str, Delivery] = {}
    for job_id, row in rows.items():
        if row["callback_disabled_at"] is not None and row["status"] in OPEN_STATUSES:
            await pool.fetchval(
                Q["settle_delivery"], row["id"], "failed", None, "the callback is disabled", 0
            )
        elif row["status"] in OPEN_STATUSES and row["callback_deleted_at"] is None:
            found[job_id] = Delivery.from_row(row)
    await outbox.mark_done_many(pool, [job_id for job_id in outbox_ids if job_id not in found])
    return found


@dataclass(frozen=True)
class Delivered:
    """A delivery that got through: its job, what was attempted, what came back."""

    outbox_id: str
    delivery: Delivery
    result: AttemptResult
    logged_headers: dict[str, str]


async def record_delivered(pool: asyncpg.Pool, delivered: list[Delivered]) -> None:
    """Log the attempts that got through and close their deliveries and jobs, in one
    statement (the common case of `record_attempt`, for a batch)."""
    assert all(d.result.succeeded for d in delivered), [d.outbox_id for d in delivered]
    if not delivered:
        return
    await pool.execute(
        Q["record_delivered"],
        [d.delivery.id for d in delivered],
        [d.logged_headers for d in delivered],
        [d.result.status_code for d in delivered],
        [d.result.latency_ms for d in delivered],
        [d.result.response_excerpt for d in delivered],
        [d.delivery.callback_id for d in delivered],
        [d.outbox_id for d in delivered],
    )


async def _judge(
    connection: asyncpg.Connection,
    delivery: Delivery,
    result: AttemptResult,
    retry_delay_ms: int | None,
    disable_after: timedelta,
) -> Settled:
    """What a failed attempt decides (a success is recorded by `record_delivered`)."""
    assert not result.succeeded, delivery.id
    failed = DeliveryStatus.FAILED
    if result.status_code == GONE:
        reason = "the receiver answered 410 Gone"
        return Settled(
            failed, None, await callbacks.disable(connection, delivery.callback_id, reason)
        )
    failing_since = await connection.fetchval(Q["record_failure"], delivery.callback_id)
    if datetime.now(UTC) - failing_since > disable_after:
        reason = f"every delivery failed for more than {disable_after}"
        return Settled(
            failed, None, await callbacks.disable(connection, delivery.callback_id, reason)
        )
    status = DeliveryStatus.RETRYING if retry_delay_ms is not None else failed
    return Settled(status, retry_delay_ms, [])


async def record_attempt(
    pool: asyncpg.Pool,
    outbox_id: str,
    delivery: Delivery,
    result: AttemptResult,
    logged_headers: dict[str, str],
    *,
    retry_delay_ms: int | None,
    disable_after: timedelta,
) -> Settled:
    """Log the attempt and move the delivery on, in one transaction. `retry_delay_ms` is
    the worker's delay before a next attempt should this one have failed (None: the
    schedule is spent); the callback is disabled instead when it has failed every
    delivery for `disable_after`. A retried job is deferred for its delay, so that
    neither arq nor the sweeper sends it again meanwhile."""
    assert retry_delay_ms is None or retry_delay_ms >= 0, retry_delay_ms
    if result.succeeded:
        # The common case in one round trip (the same writes as below).
        await record_delivered(pool, [Delivered(outbox_id, delivery, result, logged_headers)])
        return Settled(DeliveryStatus.SUCCEEDED, None, [])
    async with pool.acquire() as connection, connection.transaction():
        settled = await _judge(connection, delivery, result, retry_delay_ms, disable_after)
        await connection.execute(
            Q["record_attempt"],
            delivery.id,
            logged_headers,
            result.status_code,
            result.latency_ms,
            result.response_excerpt,
            result.error,
        )
        await connection.fetchval(
            Q["settle_delivery"],
            delivery.id,
            settled.status,
            result.status_code,
            result.error,
            1,
        )
        if settled.retry_delay_ms is None:
            await outbox.mark_done(connection, outbox_id)
        else:
            not_before = datetime.now(UTC) + timedelta(milliseconds=settled.retry_delay_ms)
            await outbox.defer(connection, outbox_id, not_before)
    return settled


async def park(pool: asyncpg.Pool, outbox_id: str, wait: timedelta) -> None:
    """Hold a delivery's job back for `wait`, and stall its callback's next deliveries as
    long (their receiver looks stuck)."""
    callback_id = protocol.callback_of(outbox_id)
    await pool.execute(Q["park"], outbox_id, callback_id, datetime.now(UTC) + wait)
