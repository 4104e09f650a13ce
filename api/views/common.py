"""What every handler does: run one transaction, enqueue its jobs after the commit, and
answer with a Balanced envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiohttp import web

import jobqueue
from api import idempotency
from api.appkeys import IDEMPOTENCY, POOL, REDIS, SETTINGS
from api.parsing import page, page_meta
from api.responses import json_response
from ledger import wire
from ledger.outbox import Job

# How long a request waits for a database connection before answering 503.
POOL_ACQUIRE_TIMEOUT_S = 5.0


@asynccontextmanager
async def transaction(request: web.Request) -> AsyncIterator[asyncpg.Connection]:
    """One transaction for the request's writes. A request holding an Idempotency-Key locks
    it for the whole transaction (proof to retries that it is alive) and marks it in this
    same transaction, so its writes and the mark commit or vanish together."""
    claim = request.get(IDEMPOTENCY)
    assert claim is None or isinstance(claim, idempotency.Claim)
    async with request.app[POOL].acquire(timeout=POOL_ACQUIRE_TIMEOUT_S) as connection:
        async with connection.transaction():
            if claim is not None:
                await idempotency.hold(connection, claim)
            yield connection
            if claim is not None:
                await idempotency.mark_committed(connection, claim)
        if claim is not None:
            claim.committed = True


async def after_commit(request: web.Request, jobs: list[Job]) -> None:
    app = request.app
    await jobqueue.enqueue(app[REDIS], jobs, app[SETTINGS].queue_name)


def one(plural: str, item: dict[str, Any], status: int = 200) -> web.Response:
    return json_response(wire.envelope(plural, [item]), status)


def many(
    request: web.Request, plural: str, items: list[dict[str, Any]], total: int
) -> web.Response:
    limit, offset = page(request)
    meta = page_meta(request.path, limit, offset, total)
    return json_response(wire.envelope(plural, items, meta))


def total_of(rows: list[Any]) -> int:
    """Lists select `count(*) OVER ()` as `total`; an empty page has no row to carry it."""
    return int(rows[0]["total"]) if rows else 0
