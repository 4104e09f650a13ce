"""Requests per API key per second, and first API keys per client address, counted in
this API process.

A fixed one-second window per key, kept in memory: no round trip on the hot path (counting
in Redis cost about a quarter of the API's throughput in `bench/pipeline.py`). With N API
processes behind a balancer a key may make up to N times the limit; the limit stops a
runaway client, it does not meter a contract.

POST /api_keys without credentials is the one write anyone may make: each call stores a
key that can then create a marketplace. It is bounded per client address by a token
bucket (`rate_limit_new_api_keys_per_min`), also per process."""

from __future__ import annotations

import ipaddress
import math
import time

from aiohttp import web

from api.appkeys import API_KEY, NEW_KEY_BUCKETS, RATE_WINDOWS, SETTINGS
from api.errors import Handler
from ledger.errors import BalancedError

WINDOW_S = 1
# Keys whose counters one process remembers: past this, the previous windows are dropped.
COUNTERS_MAX = 100_000
# Client addresses whose buckets one process remembers: past this, the least recently seen
# is forgotten (it starts again with a full bucket). Gaining from that takes this many
# addresses, which no per-address limit stands against anyway. About 10 MB at the most.
ADDRESSES_MAX = 100_000
# An IPv6 host is usually given a whole /64 and may use any address in it: its addresses
# are counted together, or one host would have 2^64 buckets.
IPV6_HOST_PREFIX_BITS = 64
SECONDS_PER_MIN = 60


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


def client_address(request: web.Request) -> str:
    """The address a request's limits are counted under: the TCP peer (`request.remote`).
    X-Forwarded-For is not trusted, since any client can write it; behind a reverse proxy
    that rewrites the peer address (aiohttp-remotes), `request.remote` is already the
    client's."""
    remote = request.remote or ""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote  # Not an IP address (a Unix socket): one bucket for all its clients.
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # An IPv4 client of a dual-stack socket.
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_HOST_PREFIX_BITS}", strict=False))
    return str(address)


def take(
    buckets: dict[str, tuple[float, float]], address: str, per_min: int, now_s: float
) -> float:
    """Take a token from `address`'s bucket (`per_min` tokens, refilled at `per_min` a
    minute). Returns 0 when one was taken, else the seconds until one will be there."""
    assert per_min > 0, per_min
    capacity, refill_per_s = float(per_min), per_min / SECONDS_PER_MIN
    # Popped and put back: the dict's order is then least recently seen first.
    tokens, seen_s = buckets.pop(address, (capacity, now_s))
    tokens = min(capacity, tokens + max(0.0, now_s - seen_s) * refill_per_s)
    wait_s = 0.0
    if tokens >= 1:
        tokens -= 1
    else:
        wait_s = (1 - tokens) / refill_per_s
    buckets[address] = (tokens, now_s)
    if len(buckets) > ADDRESSES_MAX:
        del buckets[next(iter(buckets))]
    assert 0 <= tokens <= capacity
    return wait_s


def limit_new_api_keys(request: web.Request) -> None:
    """Count an API key created without credentials against its client address; refused
    (429, with Retry-After) when the address has used up its bucket."""
    per_min = request.app[SETTINGS].rate_limit_new_api_keys_per_min
    if per_min <= 0:
        return
    address = client_address(request)
    wait_s = take(request.app[NEW_KEY_BUCKETS], address, per_min, time.monotonic())
    if wait_s > 0:
        raise BalancedError(
            f"Too many API keys created from this address: at most {per_min} per minute.",
            status_code=429,
            category_code="rate-limit-exceeded",
            headers={"Retry-After": str(math.ceil(wait_s))},
        )
