"""The rail's simulated banking clock and its banking-day calendar.

Simulated time is kept as integer milliseconds since the Unix epoch (UTC): cheap to
compare and store a million times, and exact (no float drift). The clock runs in one of
three ways:

- real time: `day_ms == DAY_MS`, simulated time passes like wall time;
- accelerated: one simulated day passes in `day_ms` of wall time, so a banking day lasts
  `day_ms` and a weekend `2 * day_ms`. `day_ms == 0` is the limit case used by tests:
  simulated time follows wall time but every scheduled outcome is due at once;
- frozen: simulated time stands still until advanced through the control API.

Banking days skip weekends and the Federal Reserve's holidays. Counting banking days
keeps the UTC time of day; the intraday schedule (same-day cut-offs and settlement
windows, in Eastern time) lives in rails.windows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

DAY_MS = 86_400_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Outcomes further out than this are configuration mistakes (NACHA's longest return
# window is 60 calendar days); the bound also keeps the day-by-day walk below short.
BANKING_DAYS_MAX = 400
# A walk over more calendar days than this cannot happen with at most 11 holidays a year.
CALENDAR_DAYS_PER_BANKING_DAY_MAX = 5


def ms_from_datetime(moment: datetime) -> int:
    assert moment.tzinfo is not None, "simulated time is always timezone-aware"
    return (moment - EPOCH) // timedelta(milliseconds=1)


def datetime_from_ms(ms: int) -> datetime:
    # Integer timedelta arithmetic, not fromtimestamp(ms / 1000): floats lose milliseconds.
    return EPOCH + timedelta(milliseconds=ms)


def iso_from_ms(ms: int) -> str:
    """ISO-8601 UTC with millisecond precision and a `Z` suffix, e.g. 2026-11-27T13:00:00.000Z."""
    return datetime_from_ms(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday (Monday = 0) of a month; n = -1 means the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date | None:
    """The Fed closes the Monday after a Sunday holiday, but NOT the Friday before a
    Saturday one (its published rule: "For holidays falling on Saturday, Federal
    Reserve Banks and Branches will be open the preceding Friday")."""
    if day.weekday() == 6:
        return day + timedelta(days=1)
    if day.weekday() == 5:
        return None
    return day


@lru_cache(maxsize=256)
def fed_holidays(year: int) -> frozenset[date]:
    """The days of `year` on which the Federal Reserve does not settle ACH."""
    fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 11, 11), date(year, 12, 25)]
    if year >= 2022:  # Juneteenth became a Fed holiday with the 2022 calendar.
        fixed.append(date(year, 6, 19))
    floating = [
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving Day
    ]
    observed = {day for day in map(_observed, fixed) if day is not None}
    return frozenset(observed.union(floating))


def is_banking_day(day: date) -> bool:
    return day.weekday() < 5 and day not in fed_holidays(day.year)


def add_banking_days(ms: int, banking_days: int) -> int:
    """The same time of day on the `banking_days`-th banking day after the date of `ms`.

    Zero means "now". Counting starts from the next calendar day, so an entry made on a
    Saturday with one banking day to go is due on Monday.
    """
    assert 0 <= banking_days <= BANKING_DAYS_MAX, banking_days
    if banking_days == 0:
        return ms
    moment = datetime_from_ms(ms)
    day = moment.date()
    remaining = banking_days
    steps = 0
    while remaining > 0:
        day += timedelta(days=1)
        steps += 1
        remaining -= is_banking_day(day)
    assert steps <= banking_days * CALENDAR_DAYS_PER_BANKING_DAY_MAX, steps
    due = datetime.combine(day, moment.timetz())
    return ms_from_datetime(due)


class BankingClock:
    """Simulated time as a linear function of wall time, re-anchored on every change.

    `now = anchor_ms + (wall - anchor_wall) * DAY_MS / day_ms` while running. Changing the
    pace or freezing re-anchors at the current simulated time, so time never jumps back.
    """

    def __init__(
        self,
        day_ms: int,
        *,
        start_ms: int | None = None,
        wall_s: Callable[[], float] = time.monotonic,
    ) -> None:
        assert day_ms >= 0, day_ms
        self._wall_s = wall_s
        self._day_ms = day_ms
        self._frozen = False
        self._anchor_ms = ms_from_datetime(datetime.now(UTC)) if start_ms is None else start_ms
        self._anchor_wall_s = wall_s()

    @property
    def day_ms(self) -> int:
        return self._day_ms

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def instant(self) -> bool:
        """Running with day_ms == 0: every scheduled outcome is due at once."""
        return self._day_ms == 0 and not self._frozen

    @property
    def mode(self) -> str:
        if self._frozen:
            return "frozen"
        return "real" if self._day_ms == DAY_MS else "accelerated"

    def now_ms(self) -> int:
        if self._frozen:
            return self._anchor_ms
        elapsed_ms = (self._wall_s() - self._anchor_wall_s) * 1000.0
        # day_ms == 0: simulated time follows wall time; only the delays collapse.
        rate = 1.0 if self._day_ms == 0 else DAY_MS / self._day_ms
        return self._anchor_ms + int(elapsed_ms * rate)

    def _reanchor(self, now_ms: int) -> None:
        self._anchor_ms = now_ms
        self._anchor_wall_s = self._wall_s()

    def set_pace(self, day_ms: int) -> None:
        """Run (again) with one simulated day lasting `day_ms` of wall time."""
        assert day_ms >= 0, day_ms
        self._reanchor(self.now_ms())
        self._day_ms = day_ms
        self._frozen = False

    def freeze(self) -> None:
        self._reanchor(self.now_ms())
        self._frozen = True

    def resume(self) -> None:
        self._reanchor(self.now_ms())
        self._frozen = False

    def set_now(self, target_ms: int) -> None:
        """Set simulated time anywhere, even back: only safe before the first entry."""
        self._reanchor(target_ms)

    def advance_to(self, target_ms: int) -> None:
        """Jump forward (in any mode); refuses to go back, so timestamps stay ordered."""
        if target_ms < self.now_ms():
            raise ValueError("the clock never goes back")
        self._reanchor(target_ms)

    def due_after(self, banking_days: int) -> int:
        return add_banking_days(self.now_ms(), banking_days)

    def is_due(self, due_ms: int) -> bool:
        if self.instant:
            return True
        return due_ms <= self.now_ms()

    def wall_delay_s(self, due_ms: int) -> float | None:
        """Wall seconds until `due_ms`, or None when only a control call can get there."""
        if self._frozen:
            return None
        if self._day_ms == 0:
            return 0.0
        remaining_ms = max(0, due_ms - self.now_ms())
        return remaining_ms * self._day_ms / DAY_MS / 1000.0
