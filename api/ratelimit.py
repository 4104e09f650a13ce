"""Requests per API key per second, counted in this API process.

A fixed one-second window per key, kept in memory: no round trip on the hot path (counting
in Redis cost about a quarter of the API's throughput in `bench/pipeline.py`). With N API
processes behind a balancer a key may make up to N times the limit; the limit stops a
runaway client, it does not meter a contract."""

from __future__ import annotations

import time

from aiohttp import web

from api.errors import Handler
from api.keys import API_KEY, RATE_WINDOWS, SETTINGS
from ledger.errors import BalancedError

WINDOW_S = 1
# Keys whose counters one process remembers: past this, the previous windows are dropped.
COUNTERS_MAX = 100_000


def _count(windows: dict[str, tuple[int, int]], key_id: str) -> int:
    """Count this request in its key's current window; returns the window's count."""
    window = int(time.monotonic()) // WINDOW_S
    if len(windows) >= COUNTERS_MAX:
        stale = [key for key, (seen, _) in windows.items() if seen != window]
        for key in stale:
            del windows[key]
    seen, count = windows.get(key_id, (window, 0))
    count = count + 1 if seen == window else 1
    windows[key_id] = (window, count)
    return count


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request[API_KEY]
    limit = request.app[SETTINGS].rate_limit_requests_per_s
    if key is None or limit <= 0:
        return await handler(request)
    if _count(request.app[RATE_WINDOWS], key["id"]) > limit:
        raise BalancedError(
            f"Too many requests: at most {limit} per second per API key.",
            status_code=429,
            category_code="rate-limit-exceeded",
            headers={"Retry-After": str(WINDOW_S)},
        )
    return await handler(request)
