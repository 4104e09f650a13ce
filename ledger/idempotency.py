"""Idempotency keys as PostgreSQL keeps them: claimed by a request, row-locked by its
transaction, taken over from a dead holder (fenced by the `updated_at` token), marked in
the request's own transaction, and the response kept for retries.

The HTTP semantics (which requests, which answers, the background bookkeeping when the
database is away) are in api/idempotency.py, which explains the whole protocol."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from ledger.sql import QUERIES

Q = QUERIES["idempotency"]


async def claim(
    pool: asyncpg.Pool, marketplace_id: str, key: str, request_sha256: bytes
) -> datetime | None:
    """Take a free key for this request; returns its token, or None when it is taken."""
    token: datetime | None = await pool.fetchval(Q["claim"], marketplace_id, key, request_sha256)
    return token


async def take_over(
    pool: asyncpg.Pool, marketplace_id: str, key: str, request_sha256: bytes, abandoned_after_s: int
) -> datetime | None:
    """Take over a key of the same request whose holder has not row-locked it for
    `abandoned_after_s`; returns the new token (later than the old one), or None."""
    token: datetime | None = await pool.fetchval(
        Q["take_over"], marketplace_id, key, request_sha256, abandoned_after_s
    )
    return token


async def hold(
    connection: asyncpg.Connection, marketplace_id: str, key: str, token: datetime
) -> bool:
    """Row-lock the key until the transaction ends; False when it was taken over."""
    held = await connection.fetchval(Q["hold"], marketplace_id, key, token)
    return held is not None


async def mark_committed(
    connection: asyncpg.Connection, marketplace_id: str, key: str, token: datetime
) -> bool:
    """Mark the key in the request's own transaction; False if it was not held."""
    marked = await connection.fetchval(Q["mark_committed"], marketplace_id, key, token)
    return marked is not None


async def get(pool: asyncpg.Pool, marketplace_id: str, key: str) -> asyncpg.Record | None:
    """The key as it stands (its request digest, state and any kept response)."""
    row: asyncpg.Record | None = await pool.fetchrow(Q["get"], marketplace_id, key)
    return row


async def release(pool: asyncpg.Pool, marketplace_id: str, key: str, token: datetime) -> None:
    """The request failed before committing: a retry may run it afresh. Waits on the row
    lock of a transaction still committing, and leaves a key marked committed (or taken
    over by another holder) alone, so it is safe whenever it runs."""
    await pool.execute(Q["release"], marketplace_id, key, token)


async def store_response(
    pool: asyncpg.Pool, marketplace_id: str, key: str, status: int, body: bytes
) -> None:
    """Keep the committed request's response for every retry (final: safe to repeat)."""
    await pool.execute(Q["store_response"], marketplace_id, key, status, body)


# Keys are kept at least a day (Stripe's promise).
KEYS_KEPT_HOURS = 24


async def purge(pool: asyncpg.Pool, kept_hours: int = KEYS_KEPT_HOURS) -> None:
    """Forget keys older than `kept_hours`."""
    await pool.execute(Q["purge"], kept_hours)
