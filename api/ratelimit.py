"""Requests per API key per second, counted in Redis (shared by every API process).

A fixed one-second window: simple, exact within a second, and one round trip per request.
If Redis is unreachable the limiter lets requests through: it protects the service, and
refusing everything while Redis restarts would hurt more than it saves."""

from __future__ import annotations

import time

from aiohttp import web
from redis.exceptions import RedisError

from api.errors import Handler
from api.keys import API_KEY, REDIS, SETTINGS
from ledger.errors import BalancedError

WINDOW_S = 1
# A window's counter outlives the window by a second, then Redis forgets it.
COUNTER_TTL_S = WINDOW_S + 1


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request[API_KEY]
    settings = request.app[SETTINGS]
    limit = settings.rate_limit_requests_per_s
    if key is None or limit <= 0:
        return await handler(request)
    window = int(time.time()) // WINDOW_S
    counter = f"{settings.queue_name}:rate:{key['id']}:{window}"
    try:
        async with request.app[REDIS].pipeline(transaction=False) as pipe:
            pipe.incr(counter)
            pipe.expire(counter, COUNTER_TTL_S)
            count, _ = await pipe.execute()
    except (RedisError, OSError):
        return await handler(request)
    if count > limit:
        raise BalancedError(
            f"Too many requests: at most {limit} per second per API key.",
            status_code=429,
            category_code="rate-limit-exceeded",
            headers={"Retry-After": str(WINDOW_S)},
        )
    return await handler(request)
