"""Latency in HDR histograms: bounded memory whatever the sample count, percentiles to
three significant digits, and histograms that add up (per time bucket, per worker).

Values are recorded in microseconds and reported in milliseconds."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

LATENCY_US_MIN = 1
# Longer than any run may last (DURATION_S_MAX + DRAIN_TIMEOUT_S_MAX): every sample fits.
LATENCY_US_MAX = 2 * 3600 * 1_000_000
SIGNIFICANT_DIGITS = 3  # 0.1 % resolution: finer than any network's jitter.
PERCENTILES = (50, 90, 95, 99)
# The live view's percentiles cover the last few seconds: recent enough to show a change,
# long enough to hold a few hundred samples at modest rates.
LIVE_WINDOW_S = 5


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LATENCY_US_MIN, LATENCY_US_MAX, SIGNIFICANT_DIGITS)


def record_ms(histogram: HdrHistogram, latency_ms: float) -> float:
    """Record one latency; anything under a microsecond counts as one (clocks tick).
    Returns the value recorded, in ms."""
    assert latency_ms >= 0 or math.isclose(latency_ms, 0, abs_tol=1e-6), latency_ms
    value_us = min(max(LATENCY_US_MIN, round(latency_ms * 1000)), LATENCY_US_MAX)
    histogram.record_value(value_us)
    return value_us / 1000


def percentiles_ms(histogram: HdrHistogram, percents: tuple[float, ...]) -> dict[float, float]:
    """The values at `percents` in ms, in one pass over the histogram (hdrh walks its
    counts in Python: one walk per percentile would cost milliseconds each)."""
    if histogram.get_total_count() == 0:
        return {}
    found = histogram.get_percentile_to_value_dict(list(percents))
    return {percent: _ms(found[percent]) for percent in percents}


def figures_ms(histogram: HdrHistogram, sum_ms: float | None = None) -> dict[str, float]:
    """count, p50 … p99 and max in ms (rounded to 0.01), and the mean when the sum of the
    samples is given (the histogram's own mean walks every bucket); only the count when
    empty."""
    count = histogram.get_total_count()
    if count == 0:
        return {"count": 0}
    figures: dict[str, float] = {"count": count}
    found = percentiles_ms(histogram, PERCENTILES)
    for percent in PERCENTILES:
        figures[f"p{percent}"] = found[percent]
    figures["max"] = _ms(histogram.get_max_value())
    if sum_ms is not None:
        figures["mean"] = round(sum_ms / count, 2)
    return figures


def _ms(value_us: float) -> float:
    return round(value_us / 1000, 2)


@dataclass
class _Second:
    at_s: int
    histogram: HdrHistogram
    accepted: int = 0
    errors: int = 0


class LiveWindow:
    """The last LIVE_WINDOW_S whole seconds of answers, for the live view: one small
    histogram per second, the oldest dropped as time moves on."""

    def __init__(self) -> None:
        self._seconds: deque[_Second] = deque(maxlen=LIVE_WINDOW_S + 1)
        self._first_s: float | None = None  # The first answer: the window starts no sooner.

    def _current(self, at_s: float) -> _Second:
        second = int(at_s)
        if not self._seconds or self._seconds[-1].at_s != second:
            self._seconds.append(_Second(second, new_histogram()))
        return self._seconds[-1]

    def answered(self, at_s: float, latency_ms: float, accepted: bool) -> None:
        if self._first_s is None:
            self._first_s = at_s
        current = self._current(at_s)
        if accepted:
            current.accepted += 1
            record_ms(current.histogram, latency_ms)
        else:
            current.errors += 1

    def snapshot(self, now_s: float) -> dict[str, float]:
        """rate_per_s, p50_ms, p99_ms and errors over the window ending at `now_s`."""
        recent = [s for s in self._seconds if now_s - LIVE_WINDOW_S <= s.at_s <= now_s]
        merged = new_histogram()
        for second in recent:
            merged.add(second.histogram)
        began_s = max(recent[0].at_s, self._first_s or 0.0) if recent else now_s
        span_s = max(0.5, now_s - began_s)  # Over half a second at least: no wild start.
        figures = figures_ms(merged)
        return {
            "rate_per_s": sum(s.accepted for s in recent) / span_s,
            "p50_ms": figures.get("p50", math.nan),
            "p99_ms": figures.get("p99", math.nan),
            "errors": sum(s.errors for s in recent),
        }
