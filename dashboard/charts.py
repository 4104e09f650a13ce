"""The dashboard's charts, drawn on the server as plain SVG shapes (no script, no inline
style: the CSP allows neither; colours come from classes in dashboard.css).

The overview's `activity_chart`: top panel, each day's volume (debits that have not failed)
as a bar; bottom panel, the day's transfers by outcome, stacked: succeeded, pending, failed.

An order's `escrow_chart`: its escrow as a step line, one step per posting that moved it
(evenly spaced: the order of events matters here, not the hours between them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dashboard.formatting import money, signed_money
from ledger.dashboard import DayActivity, EscrowPoint

WIDTH = 720
HEIGHT = 260
LEFT = 72  # Room for the axis labels.
RIGHT = 8
VOLUME_TOP, VOLUME_BOTTOM = 16, 140
OUTCOMES_TOP, OUTCOMES_BOTTOM = 164, 228
DAY_LABELS_Y = 248
BAR_SHARE = 0.64  # Of each day's slot; the rest is the gap between bars.
OUTCOMES = (("succeeded", "succeeded"), ("pending", "pending"), ("failed", "failed"))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # The CSS class: chart-volume, chart-succeeded, ...
    title: str  # Shown on hover, read by screen readers.


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str  # start, middle, end


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    days: int
    axes: list[Line]
    bars: list[Bar]
    labels: list[Label]
    description: str  # The chart in words (its aria-label).


def _days(activity: list[DayActivity], first: date, days: int) -> list[DayActivity]:
    """One entry per day from `first`, zeros for the days without a transfer."""
    by_day = {entry.day: entry for entry in activity}
    return [
        by_day.get(first + timedelta(n), DayActivity(first + timedelta(n), 0, 0, 0, 0))
        for n in range(days)
    ]


def activity_chart(activity: list[DayActivity], first: date, days: int) -> Chart:
    series = _days(activity, first, days)
    slot = (WIDTH - LEFT - RIGHT) / days
    bar_width = round(slot * BAR_SHARE, 1)
    volume_top = max((day.volume_cents for day in series), default=0)
    count_top = max((day.succeeded + day.failed + day.pending for day in series), default=0)
    # The scales' maxima (never 0: an empty chart divides by them too).
    volume_max, count_max = volume_top or 1, count_top or 1
    bars: list[Bar] = []
    labels = [
        Label(LEFT - 8, VOLUME_TOP + 4, money(volume_top), "end"),
        Label(LEFT - 8, VOLUME_BOTTOM, "$0.00", "end"),
        Label(
            LEFT - 8,
            OUTCOMES_TOP + 4,
            f"{count_top} transfer{'' if count_top == 1 else 's'}",
            "end",
        ),
        Label(LEFT - 8, OUTCOMES_BOTTOM, "0", "end"),
    ]
    # Every label_step-th day is named, counting back from today's, so that today's is.
    label_step = max(days // 7, 1)
    for index, day in enumerate(series):
        x = round(LEFT + index * slot + (slot - bar_width) / 2, 1)
        height = round((VOLUME_BOTTOM - VOLUME_TOP) * day.volume_cents / volume_max, 1)
        if day.volume_cents:
            title = f"{day.day.isoformat()}: {money(day.volume_cents)} of debits"
            bars.append(Bar(x, VOLUME_BOTTOM - height, bar_width, height, "chart-volume", title))
        bottom = float(OUTCOMES_BOTTOM)
        for attribute, kind in OUTCOMES:
            count: int = getattr(day, attribute)
            if not count:
                continue
            height = round((OUTCOMES_BOTTOM - OUTCOMES_TOP) * count / count_max, 1)
            bottom = round(bottom - height, 1)
            title = f"{day.day.isoformat()}: {count} {attribute}"
            bars.append(Bar(x, bottom, bar_width, height, f"chart-{kind}", title))
        if (days - 1 - index) % label_step == 0:
            middle = round(x + bar_width / 2, 1)
            labels.append(Label(middle, DAY_LABELS_Y, day.day.strftime("%b %d"), "middle"))
    total_cents = sum(day.volume_cents for day in series)
    description = (
        f"Debit volume and transfer outcomes per day, {series[0].day.isoformat()} to "
        f"{series[-1].day.isoformat()}: {money(total_cents)} in all."
    )
    axes = [Line(LEFT, y, WIDTH - RIGHT, y) for y in (VOLUME_BOTTOM, OUTCOMES_BOTTOM)]
    return Chart(WIDTH, HEIGHT, days, axes, bars, labels, description)


ESCROW_WIDTH = 720
ESCROW_HEIGHT = 200
ESCROW_TOP, ESCROW_BOTTOM = 16, 160
ESCROW_TIME_LABELS_Y = 184
ESCROW_RIGHT = 16


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    balance_cents: int
    title: str  # Shown on hover, read by screen readers.


@dataclass(frozen=True)
class EscrowChart:
    width: int
    height: int
    axes: list[Line]
    #: The step line's vertices, as an SVG polyline's `points` ("x,y x,y ...").
    line: str
    points: list[Point]  # One per posting, where the step lands.
    labels: list[Label]
    description: str  # The chart in words (its aria-label).


def escrow_chart(history: list[EscrowPoint]) -> EscrowChart:
    """The balance after each posting of `history` (oldest first), from $0.00 before the
    first; an empty history draws the axes alone."""
    top_cents = max((point.balance_cents for point in history), default=0)
    scale_cents = top_cents or 1
    steps = len(history)
    # Slot 0 is the empty escrow before the first posting; each posting gets the next.
    slot = (ESCROW_WIDTH - LEFT - ESCROW_RIGHT) / (steps + 1)

    def y(balance_cents: int) -> float:
        return round(ESCROW_BOTTOM - (ESCROW_BOTTOM - ESCROW_TOP) * balance_cents / scale_cents, 1)

    vertices = [(float(LEFT), y(0))]
    points: list[Point] = []
    for index, entry in enumerate(history):
        x = round(LEFT + (index + 1) * slot, 1)
        vertices.append((x, vertices[-1][1]))
        vertices.append((x, y(entry.balance_cents)))
        title = (
            f"{entry.created_at:%Y-%m-%d %H:%M:%S} UTC, {entry.kind} {entry.transaction_id}: "
            f"{signed_money(entry.moved_cents)}, escrow {money(entry.balance_cents)}"
        )
        points.append(Point(x, y(entry.balance_cents), entry.balance_cents, title))
    if history:
        vertices.append((float(ESCROW_WIDTH - ESCROW_RIGHT), vertices[-1][1]))
    labels = [
        Label(LEFT - 8, ESCROW_TOP + 4, money(top_cents), "end"),
        Label(LEFT - 8, ESCROW_BOTTOM, "$0.00", "end"),
    ]
    if history:
        labels.append(
            Label(LEFT, ESCROW_TIME_LABELS_Y, f"{history[0].created_at:%b %d %H:%M}", "start")
        )
        labels.append(
            Label(
                ESCROW_WIDTH - ESCROW_RIGHT,
                ESCROW_TIME_LABELS_Y,
                f"{history[-1].created_at:%b %d %H:%M} UTC",
                "end",
            )
        )
        description = (
            f"The order's escrow over {steps} posting{'' if steps == 1 else 's'}: at most "
            f"{money(top_cents)}, now {money(history[-1].balance_cents)}."
        )
    else:
        description = "The order's escrow: nothing has moved it yet."
    axes = [
        Line(LEFT, ESCROW_BOTTOM, ESCROW_WIDTH - ESCROW_RIGHT, ESCROW_BOTTOM),
        Line(LEFT, ESCROW_TOP, LEFT, ESCROW_BOTTOM),
    ]
    line = " ".join(f"{x},{y_}" for x, y_ in vertices)
    return EscrowChart(ESCROW_WIDTH, ESCROW_HEIGHT, axes, line, points, labels, description)
