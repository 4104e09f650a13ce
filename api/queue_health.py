"""Writes need the job queue: while Redis is unreachable the API refuses them with 503.

PostgreSQL holds every job (the outbox), so a write accepted while Redis is down would not
be lost; but its transfer would sit unsubmitted until Redis returns, and a client is better
told to retry than handed a `pending` that cannot move (design §7). Reads need only
PostgreSQL and keep working. A background task pings Redis, so the hot path pays nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from api.appkeys import QUEUE_UP, REDIS
from api.errors import RETRY_AFTER_S, Handler
from ledger.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# How often the API checks Redis, and how long one check may take: a write is refused at
# most this long after Redis goes away, and accepted again this soon after it is back.
CHECK_INTERVAL_S = 0.5
CHECK_TIMEOUT_S = 1.0
# Checks that must fail in a row before writes are refused: one ping that timed out while
# this process was busy (a long request, a GC pause) says nothing about Redis.
FAILURES_TO_REFUSE = 2
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _watch(app: web.Application) -> None:
    failures = 0
    while True:  # Intentionally unbounded: lives exactly as long as the application.
        try:
            await asyncio.wait_for(app[REDIS].ping(), CHECK_TIMEOUT_S)
            failures = 0
        except (RedisError, OSError, TimeoutError):
            failures += 1
        up = failures < FAILURES_TO_REFUSE
        if up != app[QUEUE_UP][0]:
            log.warning("job queue (Redis) %s", "reachable again" if up else "unreachable")
        app[QUEUE_UP][0] = up
        await asyncio.sleep(CHECK_INTERVAL_S)


async def queue_watch(app: web.Application) -> AsyncIterator[None]:
    app[QUEUE_UP] = [True]
    task = asyncio.create_task(_watch(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@web.middleware
async def queue_health_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in WRITE_METHODS and not request.app[QUEUE_UP][0]:
        raise ServiceUnavailable(
            "The job queue is temporarily unavailable; retry shortly.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    return await handler(request)
