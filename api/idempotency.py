"""Idempotency-Key on every POST, with Stripe's semantics.

The first request under a key runs; its response is kept and every retry with the same
request gets it back (`Idempotent-Replayed: true`). A different request under the same key
is refused (422), and so is a retry while the first is still running (409). Only requests
that committed something are kept: one that failed before committing leaves no trace, so
its retry runs afresh, which is safe precisely because nothing happened. The key is marked
inside the request's own database transaction, so a crash between commit and keeping the
response can never lead to running the request twice.

A key whose holder died (process killed) before committing is taken over by a retry of the
same request. A slow holder must never be mistaken for a dead one, and a clock cannot tell
them apart, so liveness is proven by PostgreSQL instead:
- the holder's transaction row-locks the key as its first statement (`hold`) and keeps the
  lock until it commits or rolls back; a take-over skips a locked key (SKIP LOCKED), so a
  holder inside its transaction, however slow, is never taken over (the retry gets 409);
- the lock dies with the holder's session, so a killed holder's key is free at once;
- before its transaction begins (parsing, waiting for a connection) a holder has no lock;
  the key is taken over only after ABANDONED_AFTER_S there, and even then the old holder
  cannot commit: every take-over moves the key's updated_at forward, each holder keeps the
  value it claimed with as a fencing token, and `hold` and `mark_committed` match on it.
  So the request commits at most once, whoever runs it.
We rejected holding a second connection (with an advisory lock) for the whole request: it
would double the connections a request needs and can starve the pool into a deadlock
when every connection is held by a request waiting for another one. Recording the
holder's backend pid fails for the same reason: a request's statements run on whichever
pooled connection is free, so no single backend stands for the request."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import asyncpg
from aiohttp import web

from api.appkeys import API_KEY, IDEMPOTENCY, POOL, REQUEST_ID
from api.errors import UNAVAILABLE, Handler, render
from api.responses import CONTENT_TYPE
from ledger import idempotency as keys
from ledger.errors import BalancedError

HEADER = "Idempotency-Key"
KEY_LENGTH_MAX = 255  # Stripe's limit; a V4 UUID needs 36.
# A key not row-locked by its holder's transaction this long after it was claimed is
# presumed abandoned (its holder never got as far as its transaction). The lock, not this
# delay, is what protects a live holder; the delay only keeps a holder that is about to
# open its transaction from being fenced out by an impatient retry.
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
    # The key's updated_at when this request claimed it: a take-over changes it (fencing).
    token: datetime
    committed: bool = False


def _in_use(key: str) -> BalancedError:
    return BalancedError(
        f"A request with Idempotency-Key {key!r} is still in progress.",
        status_code=409,
        category_code="idempotency-key-in-use",
        headers={"Retry-After": str(IN_USE_RETRY_AFTER_S)},
    )


async def hold(connection: asyncpg.Connection, claim: Claim) -> None:
    """The first statement of the request's transaction: row-lock the key until the
    transaction ends, which tells retries the request is alive. Refused (409, nothing
    written) when a retry took the key over while this request had not yet begun."""
    if not await keys.hold(connection, claim.marketplace_id, claim.key, claim.token):
        raise _in_use(claim.key)


async def mark_committed(connection: asyncpg.Connection, claim: Claim) -> None:
    """The last statement of the request's transaction: its writes and this mark commit
    together."""
    marked = await keys.mark_committed(connection, claim.marketplace_id, claim.key, claim.token)
    assert marked, "the key has been row-locked since `hold`"


async def _existing(
    request: web.Request, marketplace_id: str, key: str, digest: bytes
) -> web.StreamResponse:
    row = await keys.get(request.app[POOL], marketplace_id, key)
    if row is not None and row["request_sha256"] != digest:
        raise BalancedError(
            f"Idempotency-Key {key!r} was already used for a different request.",
            status_code=422,
            category_code="idempotency-key-reused",
        )
    if row is None or row["state"] != "done":
        raise _in_use(key)
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
    marketplace_id: str = api_key["marketplace_id"]
    digest = hashlib.sha256(
        request.method.encode() + b" " + request.path_qs.encode() + b"\n" + await request.read()
    ).digest()
    pool = request.app[POOL]
    token = await keys.claim(pool, marketplace_id, key, digest)
    if token is None:
        # Only the same request may take an abandoned key over; another one falls through
        # to _existing, which refuses it (422) as it would under a completed key.
        token = await keys.take_over(pool, marketplace_id, key, digest, ABANDONED_AFTER_S)
    if token is None:
        return await _existing(request, marketplace_id, key, digest)
    claim = Claim(marketplace_id, key, token)
    request[IDEMPOTENCY] = claim
    try:
        response = await handler(request)
    except BalancedError as error:
        response = render(error, request[REQUEST_ID])
    finally:
        if not claim.committed:
            await _bookkeep(partial(keys.release, pool, marketplace_id, key, claim.token))
    if claim.committed:
        # Handlers answer with JSON bytes; a streamed body (none today) would be kept empty.
        body = response.body if isinstance(response, web.Response) else None
        kept = bytes(body) if isinstance(body, bytes | bytearray) else b""
        kept_response = partial(
            keys.store_response, pool, marketplace_id, key, response.status, kept
        )
        await _bookkeep(kept_response)
    return response


Bookkeeping = Callable[[], Awaitable[None]]


async def _bookkeep(statement: Bookkeeping) -> None:
    """Run a statement about the key now, or, if PostgreSQL is unreachable, in the
    background until it is back. Both statements are safe whenever they run: `release`
    deletes the key only while no transaction has marked it committed (it waits on the row
    lock of one that is still committing), and `store_response` records a response that is
    already final. Without this, a request caught by a database restart after its commit
    would answer 5xx for writes it made, and every retry would get 409 for good."""
    try:
        await statement()
    except UNAVAILABLE:
        log.warning("idempotency bookkeeping deferred: the database is unavailable")
        task = asyncio.create_task(_bookkeep_later(statement))
        _retries.add(task)
        task.add_done_callback(_retries.discard)


async def _bookkeep_later(statement: Bookkeeping) -> None:
    deadline = time.monotonic() + BOOKKEEPING_RETRY_FOR_S
    while True:
        await asyncio.sleep(BOOKKEEPING_RETRY_DELAY_S)
        try:
            await statement()
            return
        except UNAVAILABLE:
            if time.monotonic() > deadline:
                log.error("idempotency bookkeeping abandoned after %s s", BOOKKEEPING_RETRY_FOR_S)
                return
