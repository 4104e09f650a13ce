"""Settlement windows: which FedACH window an entry catches, and when that window settles.

The Federal Reserve processes ACH in windows, each with a submission cut-off and a
settlement time, in Eastern time, on banking days only (peers §2.7, the FedACH schedule):

| window     | cut-off (ET) | settles (ET) |
|------------|--------------|--------------|
| next-day   | 02:15        | 08:30        |
| same-day-1 | 10:30        | 13:00        |
| same-day-2 | 14:45        | 17:00        |
| same-day-3 | 16:45        | 18:00        |

An entry catches the first window whose cut-off is at or after its submission. So an
entry submitted at 09:00 ET on a banking day settles at 13:00 the same day, one submitted
after 16:45 (or on a weekend or holiday) at 08:30 on the next banking day. Same Day ACH
has a per-payment limit: larger entries (and every entry when same-day is switched off)
catch only next-day windows. The rail also sends its NACHA files at these cut-offs.

Simplifications, documented: one schedule for every bank (real banks set earlier internal
cut-offs), and the banking-day arithmetic after the first window keeps the UTC time of
day (rails.clock), so a settlement may shift by an hour across a DST change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from rails.clock import add_banking_days, datetime_from_ms, is_banking_day, ms_from_datetime

# FedACH publishes its schedule in Eastern time, with daylight saving.
EASTERN = ZoneInfo("America/New_York")
# Same Day ACH's per-payment limit since March 2022: $1,000,000.
SAME_DAY_AMOUNT_CENTS_MAX = 100_000_000
# The longest run of days without a window: a four-day weekend around a holiday is 4;
# the bound keeps the day-by-day search below short even on a calendar bug.
DAYS_WITHOUT_WINDOW_MAX = 10


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    cutoff: time  # The submission deadline, Eastern time.
    settlement: time  # Settlement on the same calendar day, Eastern time.
    same_day: bool


WINDOWS = (
    Window("next-day", time(2, 15), time(8, 30), same_day=False),
    Window("same-day-1", time(10, 30), time(13, 0), same_day=True),
    Window("same-day-2", time(14, 45), time(17, 0), same_day=True),
    Window("same-day-3", time(16, 45), time(18, 0), same_day=True),
)
assert all(window.cutoff < window.settlement for window in WINDOWS)
assert [window.cutoff for window in WINDOWS] == sorted(window.cutoff for window in WINDOWS)


@dataclass(frozen=True, slots=True)
class Slot:
    """One window on one banking day, in simulated UTC milliseconds."""

    window: Window
    day: date  # The Eastern-time banking day; the entries' effective entry date.
    cutoff_ms: int
    settlement_ms: int


def _at(day: date, moment: time) -> int:
    return ms_from_datetime(datetime.combine(day, moment, tzinfo=EASTERN))


@lru_cache(maxsize=1024)
def slots_on(day: date) -> tuple[Slot, ...]:
    """The day's windows in cut-off order; none on weekends and Fed holidays."""
    if not is_banking_day(day):
        return ()
    return tuple(
        Slot(window, day, _at(day, window.cutoff), _at(day, window.settlement))
        for window in WINDOWS
    )


def eastern_day(ms: int) -> date:
    return datetime_from_ms(ms).astimezone(EASTERN).date()


class Calendar:
    """Looks windows up for the bank. Stateless but for the same-day switch."""

    def __init__(self, *, same_day: bool = True) -> None:
        self.same_day = same_day

    def _eligible(self, slot: Slot, amount_cents: int | None) -> bool:
        if not slot.window.same_day:
            return True
        if not self.same_day:
            return False
        return amount_cents is None or amount_cents <= SAME_DAY_AMOUNT_CENTS_MAX

    def slot_for(self, submitted_ms: int, amount_cents: int | None = None) -> Slot:
        """The first window an entry submitted at `submitted_ms` can catch. Without an
        amount, any window counts (the next moment files are sent)."""
        day = eastern_day(submitted_ms)
        for _ in range(DAYS_WITHOUT_WINDOW_MAX + 1):
            for slot in slots_on(day):
                if slot.cutoff_ms >= submitted_ms and self._eligible(slot, amount_cents):
                    return slot
            day += timedelta(days=1)
        raise AssertionError(f"no settlement window within {DAYS_WITHOUT_WINDOW_MAX} days")

    def first_due_ms(self, submitted_ms: int, amount_cents: int, after_banking_days: int) -> int:
        """When a rule's first outcome falls due. 0 banking days: at once; 1: when the
        entry's window settles; n: n - 1 banking days after that."""
        assert after_banking_days >= 0, after_banking_days
        if after_banking_days == 0:
            return submitted_ms
        settlement_ms = self.slot_for(submitted_ms, amount_cents).settlement_ms
        due_ms = add_banking_days(settlement_ms, after_banking_days - 1)
        assert due_ms >= submitted_ms
        return due_ms

    def next_cutoff_ms(self, ms: int) -> int:
        """The next moment (at or after `ms`) at which the rail sends files."""
        return self.slot_for(ms).cutoff_ms
