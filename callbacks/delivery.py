"""One delivery attempt of an event to a callback URL, and the retry schedule."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import aiohttp

# What we keep of a receiver's answer in the attempt log.
RESPONSE_EXCERPT_BYTES_MAX = 1024
# Jitter spreads retries of many deliveries that failed together (a receiver's outage).
RETRY_JITTER_FRACTION = 0.2
USER_AGENT = "ballast-callbacks/1.1"


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
    retry_after_s: float | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after_s(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


async def attempt(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    body: str,
    headers: dict[str, str],
    timeout_ms: int,
) -> Attempt:
    """POST (or PUT, GET) the signed event once. Redirects are not followed: a 3xx is a
    failure, as Standard Webhooks says, so a receiver cannot bounce us inward."""
    started = time.monotonic()
    request_headers = headers | {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    data = None if method == "get" else body.encode()
    try:
        async with session.request(
            method.upper(),
            url,
            data=data,
            headers=request_headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_ms / 1000),
        ) as response:
            excerpt = (await response.content.read(RESPONSE_EXCERPT_BYTES_MAX)).decode(
                "utf-8", "replace"
            )
            latency_ms = int((time.monotonic() - started) * 1000)
            return Attempt(response.status, latency_ms, excerpt, None, _retry_after_s(response))
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        latency_ms = int((time.monotonic() - started) * 1000)
        return Attempt(None, latency_ms, None, f"{type(error).__name__}: {error}"[:500], None)


def retry_delay_ms(attempts_made: int, schedule_ms: list[int], attempt: Attempt) -> int | None:
    """Delay before the next attempt, or None when the schedule is exhausted."""
    assert attempts_made >= 1
    if attempts_made > len(schedule_ms):
        return None
    delay_ms = schedule_ms[attempts_made - 1]
    delay_ms += int(delay_ms * RETRY_JITTER_FRACTION * random.random())
    if attempt.retry_after_s is not None:
        delay_ms = max(delay_ms, int(attempt.retry_after_s * 1000))
    return delay_ms
