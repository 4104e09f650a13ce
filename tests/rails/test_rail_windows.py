"""Settlement windows: same-day cut-offs, next-day settlement, weekends and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rails.clock import ms_from_datetime
from rails.windows import SAME_DAY_AMOUNT_CENTS_MAX, Calendar, eastern_day, slots_on


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return ms_from_datetime(datetime(year, month, day, hour, minute, tzinfo=UTC))


@pytest.mark.parametrize(
    ("submitted", "window", "settles"),
    [
        # Monday 2026-03-02 is in EST (UTC-5).
        (utc(2026, 3, 2, 6, 0), "next-day", utc(2026, 3, 2, 13, 30)),  # 01:00 ET
        (utc(2026, 3, 2, 14, 0), "same-day-1", utc(2026, 3, 2, 18, 0)),  # 09:00 ET
        (utc(2026, 3, 2, 15, 30), "same-day-1", utc(2026, 3, 2, 18, 0)),  # 10:30 ET exactly
        (utc(2026, 3, 2, 15, 31), "same-day-2", utc(2026, 3, 2, 22, 0)),  # 10:31 ET
        (utc(2026, 3, 2, 21, 0), "same-day-3", utc(2026, 3, 2, 23, 0)),  # 16:00 ET
        (utc(2026, 3, 2, 22, 0), "next-day", utc(2026, 3, 3, 13, 30)),  # 17:00 ET
    ],
)
def test_an_entry_catches_the_first_window_whose_cutoff_is_ahead(
    submitted: int, window: str, settles: int
) -> None:
    slot = Calendar().slot_for(submitted, amount_cents=100)
    assert (slot.window.name, slot.settlement_ms) == (window, settles)


def test_friday_evening_settles_monday_morning() -> None:
    slot = Calendar().slot_for(utc(2026, 2, 27, 23, 0), amount_cents=100)
    assert (slot.day, slot.settlement_ms) == (date(2026, 3, 2), utc(2026, 3, 2, 13, 30))


def test_the_eve_of_a_holiday_settles_after_it() -> None:
    # Wednesday evening before Thanksgiving (Thursday 2026-11-26): Friday's first window.
    slot = Calendar().slot_for(utc(2026, 11, 25, 23, 0), amount_cents=100)
    assert slot.day == date(2026, 11, 27)


def test_windows_follow_daylight_saving_time() -> None:
    # 2026-07-15 is in EDT (UTC-4): 09:00 ET is 13:00 UTC, settling 13:00 ET = 17:00 UTC.
    slot = Calendar().slot_for(utc(2026, 7, 15, 13, 0), amount_cents=100)
    assert slot.settlement_ms == utc(2026, 7, 15, 17, 0)


def test_entries_above_the_same_day_limit_wait_for_the_next_day_window() -> None:
    slot = Calendar().slot_for(utc(2026, 3, 2, 14, 0), SAME_DAY_AMOUNT_CENTS_MAX + 1)
    assert (slot.window.name, slot.day) == ("next-day", date(2026, 3, 3))


def test_without_same_day_ach_every_entry_settles_next_day() -> None:
    slot = Calendar(same_day=False).slot_for(utc(2026, 3, 2, 14, 0), amount_cents=100)
    assert (slot.window.name, slot.settlement_ms) == ("next-day", utc(2026, 3, 3, 13, 30))


def test_weekends_and_holidays_have_no_windows() -> None:
    assert slots_on(date(2026, 3, 7)) == ()  # Saturday
    assert slots_on(date(2026, 11, 26)) == ()  # Thanksgiving
    assert [slot.window.name for slot in slots_on(date(2026, 3, 2))] == [
        "next-day",
        "same-day-1",
        "same-day-2",
        "same-day-3",
    ]


@pytest.mark.parametrize(
    ("after_banking_days", "due"),
    [(0, utc(2026, 2, 27, 14, 0)), (1, utc(2026, 2, 27, 18, 0)), (2, utc(2026, 3, 2, 18, 0))],
)
def test_first_outcome_counts_banking_days_from_the_window(
    after_banking_days: int, due: int
) -> None:
    # Friday 09:00 ET: 0 is at once, 1 the 13:00 window, 2 one banking day later (Monday).
    assert Calendar().first_due_ms(utc(2026, 2, 27, 14, 0), 100, after_banking_days) == due


def test_files_go_out_at_the_next_cutoff_of_any_window() -> None:
    assert Calendar().next_cutoff_ms(utc(2026, 3, 2, 16, 0)) == utc(2026, 3, 2, 19, 45)
    assert eastern_day(utc(2026, 3, 3, 3, 0)) == date(2026, 3, 2)
