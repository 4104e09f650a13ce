"""The banking-day calendar and the simulated clock's three paces."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rails.clock import (
    DAY_MS,
    BankingClock,
    add_banking_days,
    fed_holidays,
    iso_from_ms,
    ms_from_datetime,
)


def at(year: int, month: int, day: int, hour: int = 15) -> int:
    return ms_from_datetime(datetime(year, month, day, hour, tzinfo=UTC))


def test_one_banking_day_after_friday_is_monday() -> None:
    assert add_banking_days(at(2026, 3, 6), 1) == at(2026, 3, 9)


def test_banking_days_skip_thanksgiving() -> None:
    # Wednesday 2026-11-25 + 1 banking day: Thursday is Thanksgiving, so Friday.
    assert add_banking_days(at(2026, 11, 25), 1) == at(2026, 11, 27)


def test_sunday_holiday_is_observed_on_monday() -> None:
    # 2027-07-04 is a Sunday; the Fed closes Monday 07-05, so Friday + 1 is Tuesday.
    assert date(2027, 7, 5) in fed_holidays(2027)
    assert add_banking_days(at(2027, 7, 2), 1) == at(2027, 7, 6)


def test_saturday_holiday_leaves_friday_open() -> None:
    # 2026-07-04 is a Saturday: the Fed stays open on Friday 07-03.
    assert date(2026, 7, 3) not in fed_holidays(2026)
    assert add_banking_days(at(2026, 7, 2), 1) == at(2026, 7, 3)


def test_nth_weekday_holidays_land_on_the_right_dates() -> None:
    holidays = fed_holidays(2026)
    assert {date(2026, 1, 19), date(2026, 5, 25), date(2026, 9, 7)} <= holidays
    assert {date(2026, 10, 12), date(2026, 11, 26), date(2026, 2, 16)} <= holidays
    assert len(holidays) == 10  # 11 holidays; Independence Day falls on a Saturday.


def test_zero_banking_days_is_now() -> None:
    assert add_banking_days(at(2026, 3, 7), 0) == at(2026, 3, 7)


def test_accelerated_clock_runs_one_day_per_day_ms() -> None:
    wall = [100.0]
    clock = BankingClock(1000, start_ms=at(2026, 3, 2), wall_s=lambda: wall[0])
    wall[0] += 0.5
    assert clock.now_ms() == at(2026, 3, 2) + DAY_MS // 2
    assert clock.mode == "accelerated"
    assert clock.wall_delay_s(clock.now_ms() + DAY_MS) == pytest.approx(1.0)


def test_frozen_clock_stands_still_until_advanced() -> None:
    wall = [0.0]
    clock = BankingClock(DAY_MS, start_ms=at(2026, 3, 2), wall_s=lambda: wall[0])
    clock.freeze()
    wall[0] += 3600.0
    assert clock.now_ms() == at(2026, 3, 2)
    assert clock.wall_delay_s(at(2026, 3, 3)) is None
    clock.advance_to(at(2026, 3, 3))
    assert clock.now_ms() == at(2026, 3, 3)
    with pytest.raises(ValueError):
        clock.advance_to(at(2026, 3, 2))


def test_zero_day_ms_makes_everything_due_at_once() -> None:
    clock = BankingClock(0)
    assert clock.is_due(clock.now_ms() + 30 * DAY_MS)
    assert clock.wall_delay_s(clock.now_ms() + DAY_MS) == 0.0


def test_timestamps_are_iso_utc_with_milliseconds() -> None:
    assert iso_from_ms(at(2026, 3, 2) + 7) == "2026-03-02T15:00:00.007Z"
