"""Callback subscriptions: creating them, rotating their signing secrets, disabling and
enabling them, and redelivering events to them. (A delivery's state is in
`ledger/deliveries.py`, the job that makes it in `workers/deliveries.py`, signing and HTTP
in the top-level `callbacks` package.)"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import asyncpg

from ledger import events, ids, outbox, protocol, wire
from ledger.errors import Conflict, NotFound
from ledger.outbox import Job
from ledger.records import Callback
from ledger.sql import QUERIES

Q = QUERIES["callbacks"]
DUPLICATE_URL_INDEX = "callbacks_one_url_per_marketplace"
# One redelivery request re-sends at most this many events; a wider range is refused in
# parts by the client, so one request never floods the queue.
REDELIVERY_EVENTS_MAX = 10_000
# A range redelivery (up to 10k events) shares the one job queue with every marketplace's
# transfers. Enqueued at once, it would put 10k deliveries ahead of every transfer job
# created after it. So only the first REDELIVERY_BURST are queued at once; the others are
# paced in the outbox, REDELIVERY_INTERVAL_MS apart (20 a second per callback, further
# requests for the callback queueing behind), and the sweeper enqueues them as they fall
# due. A transfer job therefore never waits behind more than REDELIVERY_BURST deliveries
# of one request plus what fell due since.
REDELIVERY_BURST = 100
REDELIVERY_INTERVAL_MS = 50


async def create(
    connection: asyncpg.Connection,
    marketplace_id: str,
    url: str,
    method: str,
    revision: str,
    secret: str,
) -> Callback:
    try:
        row = await connection.fetchrow(
            Q["insert"], ids.new_id("callback"), marketplace_id, url, method, revision, secret
        )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != DUPLICATE_URL_INDEX:
            raise
        raise Conflict(
            "Webhook URL already exists.", category_code="duplicate-webhook-url"
        ) from error
    assert row is not None
    return Callback.from_row(row)


async def list_page(
    pool: asyncpg.Pool, marketplace_id: str, limit: int, offset: int
) -> tuple[list[Callback], int]:
    """One page of a marketplace's live callbacks, and how many there are in all."""
    rows = await pool.fetch(Q["list"], marketplace_id, limit, offset)
    total = int(rows[0]["total"]) if rows else 0
    return [Callback.from_row(row) for row in rows], total


async def get(
    pool: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, callback_id: str
) -> Callback:
    row = await pool.fetchrow(Q["get"], marketplace_id, callback_id)
    if row is None:
        raise NotFound(f"Callback {callback_id} could not be found.")
    return Callback.from_row(row)


async def delete(pool: asyncpg.Pool, marketplace_id: str, callback_id: str) -> None:
    """Stop delivering to a callback for good; its deliveries are abandoned as they run."""
    if await pool.fetchval(Q["delete"], marketplace_id, callback_id) is None:
        raise NotFound(f"Callback {callback_id} could not be found.")


async def rotate_secret(
    connection: asyncpg.Connection,
    marketplace_id: str,
    callback_id: str,
    new_secret: str,
    overlap: timedelta,
    now: datetime,
) -> Callback:
    """Sign with `new_secret` from now on, and with the old one too until `now + overlap`."""
    row = await connection.fetchrow(
        Q["rotate_secret"], marketplace_id, callback_id, new_secret, now + overlap
    )
    if row is None:
        raise NotFound(f"Callback {callback_id} could not be found.")
    return Callback.from_row(row)


async def enable(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, callback_id: str
) -> Callback:
    row = await connection.fetchrow(Q["enable"], marketplace_id, callback_id)
    if row is None:
        raise NotFound(f"Callback {callback_id} could not be found.")
    return Callback.from_row(row)


async def disable(connection: asyncpg.Connection, callback_id: str, reason: str) -> list[Job]:
    """Disable a callback and tell the marketplace's other callbacks (`callback.disabled`).
    Disabling one that is already disabled changes nothing."""
    row = await connection.fetchrow(Q["disable"], callback_id, reason)
    if row is None:
        return []
    entity = wire.envelope("callbacks", [wire.callback(Callback.from_row(row))])
    return await events.record(
        connection, row["marketplace_id"], "callback.disabled", callback_id, entity
    )


async def redeliver(
    connection: asyncpg.Connection,
    marketplace_id: str,
    callback_id: str,
    event_ids: list[str] | None,
    occurred_range: tuple[datetime, datetime] | None,
) -> list[Job]:
    """Queue the chosen events for `callback_id` again (one event, or a time range)."""
    assert (event_ids is None) != (occurred_range is None)
    if await connection.fetchrow(Q["get"], marketplace_id, callback_id) is None:
        raise NotFound(f"Callback {callback_id} could not be found.")
    since, until = occurred_range or (None, None)
    rows = await connection.fetch(
        Q["redeliver"],
        marketplace_id,
        callback_id,
        event_ids,
        since,
        until,
        secrets.token_hex(8),
        REDELIVERY_EVENTS_MAX,
    )
    return [(row["job"], row["id"]) for row in rows]


async def queue_redelivery(
    connection: asyncpg.Connection,
    marketplace_id: str,
    callback_id: str,
    event_ids: list[str] | None,
    occurred_range: tuple[datetime, datetime] | None,
) -> tuple[int, list[Job]]:
    """`redeliver`, paced (see REDELIVERY_BURST): how many events were queued, and the
    jobs due now, to enqueue after the commit (the API's and the dashboard's redelivery)."""
    jobs = await redeliver(connection, marketplace_id, callback_id, event_ids, occurred_range)
    due = await outbox.spread(
        connection,
        jobs,
        protocol.redelivery_job_prefix(callback_id),
        REDELIVERY_BURST,
        REDELIVERY_INTERVAL_MS,
    )
    return len(jobs), due
