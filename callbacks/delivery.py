"""One delivery attempt of an event to a callback URL, and the retry schedule."""

from __future__ import annotations

import email.utils
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC

import aiohttp
from aiohttp.abc import AbstractResolver

from callbacks import ssrf

# What we keep of a receiver's answer in the attempt log.
RESPONSE_EXCERPT_BYTES_MAX = 1024
# Jitter spreads retries of many deliveries that failed together (a receiver's outage).
RETRY_JITTER_FRACTION = 0.2
USER_AGENT = "ballast-callbacks/1.1"
# The longest pause a receiver's `Retry-After` may impose on a delivery. A receiver may ask
# for more than our own schedule's gaps (planned maintenance), so it is not the schedule's
# last step; but an absurd value must neither overflow the arithmetic that schedules the
# retry (it did: the attempt went unlogged and the sweeper resent it forever) nor park a
# delivery for so long that the disable rule (days of failures) never gets to judge it.
RETRY_AFTER_S_MAX = 24 * 3600
# `Retry-After` delay-seconds (RFC 9110 10.2.3): ASCII digits only. `str.isdigit` also
# takes digits that `int` refuses ("²"), which raised in the middle of an attempt.
_DELAY_SECONDS = re.compile(r"[0-9]+")
# Digits past this many (leading zeros aside) are over the maximum anyway; converting
# them would cost time, and Python refuses ints of more than 4300 digits.
_DELAY_SECONDS_DIGITS_MAX = len(str(RETRY_AFTER_S_MAX))


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None
    retry_after_s: float | None

    def __post_init__(self) -> None:
        assert self.latency_ms >= 0, self.latency_ms
        if self.retry_after_s is not None:
            assert 0 <= self.retry_after_s <= RETRY_AFTER_S_MAX, self.retry_after_s

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def session(
    *,
    allow_private: bool,
    connections_max: int,
    lookup: AbstractResolver | None = None,
) -> aiohttp.ClientSession:
    """The HTTP client of callback deliveries: it connects only to addresses that its
    resolver vetted (see callbacks/ssrf.py), and keeps the host name for TLS (SNI,
    certificate) and the Host header. Its own session, apart from the one that calls the
    rail, which is an internal service."""
    assert connections_max >= 1
    connector = aiohttp.TCPConnector(
        limit=connections_max,
        resolver=ssrf.PinnedResolver(allow_private=allow_private, lookup=lookup),
        # Each new connection resolves and is vetted anew: no answer outlives its check.
        use_dns_cache=False,
    )
    # No proxy from the environment either: a proxy would resolve the host itself.
    return aiohttp.ClientSession(connector=connector, trust_env=False)


def parse_retry_after_s(value: str | None, now_s: float) -> float | None:
    """Seconds a `Retry-After` header asks us to wait, from `now_s` (Unix time), clamped to
    `RETRY_AFTER_S_MAX`; None when there is none or it is garbage. Both forms of RFC 9110
    count: delay-seconds and an HTTP-date (a date in the past means now)."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        digits = value.lstrip("0") or "0"
        if len(digits) > _DELAY_SECONDS_DIGITS_MAX:
            return float(RETRY_AFTER_S_MAX)
        return float(min(int(digits), RETRY_AFTER_S_MAX))
    try:
        moment = email.utils.parsedate_to_datetime(value)
        if moment.tzinfo is None:  # "-0000": a time in UTC, says RFC 5322.
            moment = moment.replace(tzinfo=UTC)
        wait_s = moment.timestamp() - now_s
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(wait_s, 0.0), float(RETRY_AFTER_S_MAX))


def _retry_after_s(response: aiohttp.ClientResponse) -> float | None:
    return parse_retry_after_s(response.headers.get("Retry-After"), time.time())


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
    except ssrf.UnsafeUrl as error:  # The host resolved to an internal address just now.
        latency_ms = int((time.monotonic() - started) * 1000)
        return Attempt(None, latency_ms, None, f"refused: {error}"[:500], None)
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        latency_ms = int((time.monotonic() - started) * 1000)
        return Attempt(None, latency_ms, None, f"{type(error).__name__}: {error}"[:500], None)


def retry_delay_ms(
    attempts_made: int, schedule_ms: list[int], attempt: Attempt, slow_down_factor: int = 1
) -> int | None:
    """Delay before the next attempt, or None when the schedule is exhausted: the schedule's
    step (with jitter, times `slow_down_factor`), but never sooner than the receiver's
    `Retry-After`, which is honoured up to `RETRY_AFTER_S_MAX`."""
    assert attempts_made >= 1
    assert slow_down_factor >= 1
    if attempts_made > len(schedule_ms):
        return None
    delay_ms = schedule_ms[attempts_made - 1]
    delay_ms += int(delay_ms * RETRY_JITTER_FRACTION * random.random())
    delay_ms *= slow_down_factor
    if attempt.retry_after_s is not None:
        retry_after_ms = int(min(attempt.retry_after_s, RETRY_AFTER_S_MAX) * 1000)
        delay_ms = max(delay_ms, retry_after_ms)
    assert delay_ms >= 0
    return delay_ms
