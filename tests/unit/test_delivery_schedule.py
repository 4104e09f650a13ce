"""The retry schedule of callback deliveries and the `Retry-After` parser that feeds it:
both forms of the header, garbage ignored, absurd values clamped to a named maximum."""

from __future__ import annotations

import email.utils
from datetime import timedelta

import pytest

from callbacks import delivery

NOW_S = 1_700_000_000.0
SCHEDULE_MS = [5_000, 300_000]
MAX_S = float(delivery.RETRY_AFTER_S_MAX)


def _http_date(moment_s: float) -> str:
    return email.utils.formatdate(moment_s, usegmt=True)


@pytest.mark.parametrize(
    ("header", "wait_s"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 120 ", 120.0),
        ("000000000000000000000000120", 120.0),
        (str(delivery.RETRY_AFTER_S_MAX), MAX_S),
        (str(delivery.RETRY_AFTER_S_MAX + 1), MAX_S),
        ("99999999999999999999", MAX_S),
        ("9" * 5000, MAX_S),  # More digits than Python converts to an int.
        (_http_date(NOW_S + 90), 90.0),
        ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),  # NOW_S + 30 s.
        ("Tuesday, 14-Nov-23 22:13:50 GMT", 30.0),  # RFC 850, obsolete but allowed.
        ("Tue, 14 Nov 2023 22:13:50 -0000", 30.0),
        ("Tue Nov 14 22:13:50 2023", 30.0),  # asctime, obsolete but allowed.
        (_http_date(NOW_S - 3600), 0.0),  # In the past: now.
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_S),
    ],
)
def test_retry_after_is_read_in_both_forms_and_clamped(header: str, wait_s: float) -> None:
    assert delivery.parse_retry_after_s(header, NOW_S) == wait_s


@pytest.mark.parametrize(
    "header",
    [None, "", "soon", "-5", "1.5", "1e400", "inf", "NaN", "²", "١٢", "0x10", "Mon, 99 Foo"],
)
def test_garbage_retry_after_is_ignored(header: str | None) -> None:
    assert delivery.parse_retry_after_s(header, NOW_S) is None


def _failed(status: int, retry_after_s: float | None) -> delivery.Attempt:
    return delivery.Attempt(status, 3, "busy", None, retry_after_s)


def test_retry_follows_the_schedule_with_jitter_then_gives_up() -> None:
    for attempts_made, step_ms in enumerate(SCHEDULE_MS, start=1):
        delay_ms = delivery.retry_delay_ms(attempts_made, SCHEDULE_MS, _failed(500, None))
        assert delay_ms is not None
        assert step_ms <= delay_ms <= step_ms * (1 + delivery.RETRY_JITTER_FRACTION)
    assert delivery.retry_delay_ms(3, SCHEDULE_MS, _failed(500, None)) is None
    assert delivery.retry_delay_ms(3, SCHEDULE_MS, _failed(503, MAX_S)) is None


def test_retry_is_never_sooner_than_retry_after_nor_later_than_its_maximum() -> None:
    delay_ms = delivery.retry_delay_ms(1, SCHEDULE_MS, _failed(503, 60.0))
    assert delay_ms == 60_000
    longest = delivery.retry_delay_ms(1, SCHEDULE_MS, _failed(429, MAX_S), slow_down_factor=2)
    assert longest == delivery.RETRY_AFTER_S_MAX * 1000
    assert timedelta(milliseconds=longest) == timedelta(days=1)


def test_slowing_down_multiplies_the_schedule_not_the_receivers_wish() -> None:
    delay_ms = delivery.retry_delay_ms(1, SCHEDULE_MS, _failed(429, 1.0), slow_down_factor=2)
    assert delay_ms is not None
    assert 2 * SCHEDULE_MS[0] <= delay_ms <= 2 * SCHEDULE_MS[0] * 1.2


def test_an_attempt_cannot_carry_a_wait_beyond_the_maximum() -> None:
    with pytest.raises(AssertionError):
        _failed(503, MAX_S + 1)
