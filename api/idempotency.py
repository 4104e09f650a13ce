"""Idempotency-Key on every POST, with Stripe's semantics.

The first request under a key runs; its response is kept and every retry with the same
request gets it back (`Idempotent-Replayed: true`). A different request under the same key
is refused (422), and so is a retry while the first is still running (409). Only requests
that committed something are kept: one that failed before committing leaves no trace, so
its retry runs afresh, which is safe precisely because nothing happened. The key is marked
inside the request's own database transaction, so a crash between commit and keeping the
response can never lead to running the request twice."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from api.errors import UNAVAILABLE, Handler, render
from api.keys import API_KEY, IDEMPOTENCY, POOL, REQUEST_ID
from api.responses import CONTENT_TYPE
from ledger.errors import BalancedError
from ledger.sql import QUERIES

Q = QUERIES["idempotency"]
HEADER = "Idempotency-Key"
KEY_LENGTH_MAX = 255  # Stripe's limit; a V4 UUID needs 36.
# A request that has held its key this long without committing is presumed dead.
ABANDONED_AFTER_S = 60
IN_USE_RETRY_AFTER_S = 1
# When PostgreSQL goes away between a request's commit and the keeping of its response (or
# before a failed request could give its key back), that bookkeeping is retried in the
# background this long, at this pace; the client gets its answer meanwhile.
BOOKKEEPING_RETRY_FOR_S = ABANDONED_AFTER_S
BOOKKEEPING_RETRY_DELAY_S = 0.5

log = logging.getLogger(__name__)
# References to the background retries, which asyncio would otherwise let go mid-flight.
_retries: set[asyncio.Task[None]] = set()


@dataclass
class Claim:
    marketplace_id: str
    key: str
    committed: bool = False


async def _existing(request: web.Request, claim: Claim, digest: bytes) -> web.StreamResponse:
    row = await request.app[POOL].fetchrow(Q["get"], claim.marketplace_id, claim.key)
    if row is not None and row["request_sha256"] != digest:
        raise BalancedError(
            f"Idempotency-Key {claim.key!r} was already used for a different request.",
            status_code=422,
            category_code="idempotency-key-reused",
        )
    if row is None or row["state"] != "done":
        raise BalancedError(
            f"A request with Idempotency-Key {claim.key!r} is still in progress.",
            status_code=409,
            category_code="idempotency-key-in-use",
            headers={"Retry-After": str(IN_USE_RETRY_AFTER_S)},
        )
    return web.Response(
        body=row["response_body"],
        status=row["response_status"],
        headers={"Content-Type": CONTENT_TYPE, "Idempotent-Replayed": "true"},
    )


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request.headers.get(HEADER)
    api_key = request[API_KEY]
    if request.method != "POST" or key is None or api_key is None:
        return await handler(request)
    if not 1 <= len(key) <= KEY_LENGTH_MAX or api_key["marketplace_id"] is None:
        raise BalancedError(
            f"{HEADER} must be 1 to {KEY_LENGTH_MAX} characters, and the API "
            "key must have a marketplace."
        )
    claim = Claim(api_key["marketplace_id"], key)
    digest = hashlib.sha256(
        request.method.encode() + b" " + request.path_qs.encode() + b"\n" + await request.read()
    ).digest()
    pool = request.app[POOL]
    claimed = await pool.fetchval(Q["claim"], claim.marketplace_id, key, digest)
    if claimed is None:
        claimed = await pool.fetchval(Q["take_over"], claim.marketplace_id, key, ABANDONED_AFTER_S)
    if claimed is None:
        return await _existing(request, claim, digest)
    request[IDEMPOTENCY] = claim
    try:
        response = await handler(request)
    except BalancedError as error:
        response = render(error, request[REQUEST_ID])
    finally:
        if not claim.committed:
            await _bookkeep(pool, Q["release"], claim.marketplace_id, key)
    if claim.committed:
        body = response.body if isinstance(response, web.Response) else b""
        await _bookkeep(
            pool,
            Q["store_response"],
            claim.marketplace_id,
            key,
            response.status,
            bytes(body or b""),
        )
    return response


async def _bookkeep(pool: asyncpg.Pool, query: str, *args: Any) -> None:
    """Run a statement about the key now, or, if PostgreSQL is unreachable, in the
    background until it is back. Both statements are safe whenever they run: `release`
    deletes the key only while no transaction has marked it committed (it waits on the row
    lock of one that is still committing), and `store_response` records a response that is
    already final. Without this, a request caught by a database restart after its commit
    would answer 5xx for writes it made, and every retry would get 409 for good."""
    try:
        await pool.execute(query, *args)
    except UNAVAILABLE:
        log.warning("idempotency bookkeeping deferred: the database is unavailable")
        task = asyncio.create_task(_bookkeep_later(pool, query, args))
        _retries.add(task)
        task.add_done_callback(_retries.discard)


async def _bookkeep_later(pool: asyncpg.Pool, query: str, args: tuple[Any, ...]) -> None:
    deadline = time.monotonic() + BOOKKEEPING_RETRY_FOR_S
    while True:
        await asyncio.sleep(BOOKKEEPING_RETRY_DELAY_S)
        try:
            await pool.execute(query, *args)
            return
        except UNAVAILABLE:
            if time.monotonic() > deadline:
                log.error("idempotency bookkeeping abandoned after %s s", BOOKKEEPING_RETRY_FOR_S)
                return
