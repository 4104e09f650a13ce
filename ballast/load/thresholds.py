"""k6-style pass/fail criteria: `p99<250ms`, `errors<0.1%`, `e2e_p95<5s`, checked against
a run's summary at its end. Any failing one fails the run (exit code 1), so a CI pipeline
can gate on it.

Metrics: `p50` `p90` `p95` `p99` `max` `mean` (submission latency), the same prefixed
`e2e_` (scheduled send → outcome), `errors` (refused or failed submissions), `returns`
and `pending` (of the accepted transfers), `rate` (accepted per second). Latencies take
`ms` or `s`; shares take `%` or a bare count (`errors<1` is "no error")."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ballast.load.config import LoadError

THRESHOLDS_MAX = 50
_EXPRESSION = re.compile(r"^\s*([a-z0-9_]+)\s*(<=|>=|<|>)\s*(\d+(?:\.\d+)?)\s*(ms|s|%|/s)?\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_LATENCY_FIGURES = ("p50", "p90", "p95", "p99", "max", "mean")
LATENCY_METRICS = {
    **{name: ("submit_latency_ms", name) for name in _LATENCY_FIGURES},
    **{f"e2e_{name}": ("outcome_latency_ms", name) for name in _LATENCY_FIGURES},
}
SHARE_METRICS = ("errors", "returns", "pending")
METRICS = (*LATENCY_METRICS, *SHARE_METRICS, "rate")


@dataclass(frozen=True)
class Threshold:
    text: str
    metric: str
    comparison: str
    limit: float  # ms for latencies, a fraction (0..1) for shares given in %, else a count.
    unit: str  # "ms", "%", "count" or "/s"

    def check(self, summary: dict[str, Any]) -> dict[str, Any]:
        """{threshold, actual, passed}: a metric with no data (no outcome arrived) fails."""
        actual = measure(self, summary)
        passed = actual is not None and _OPERATORS[self.comparison](actual, self.limit)
        shown = None if actual is None else _shown(actual, self.unit)
        return {"threshold": self.text, "actual": shown, "passed": passed}


def parse_threshold(text: str) -> Threshold:
    found = _EXPRESSION.match(text)
    if found is None:
        raise LoadError(f"threshold {text!r}: write METRIC<VALUE, e.g. p99<250ms or errors<0.1%")
    metric, comparison, number, unit = found.groups()
    if metric not in METRICS:
        raise LoadError(
            f"threshold {text!r}: unknown metric {metric!r}; one of {', '.join(METRICS)}"
        )
    value = float(number)
    if metric in LATENCY_METRICS:
        if unit not in ("ms", "s"):
            raise LoadError(f"threshold {text!r}: a latency needs ms or s")
        return Threshold(
            text.strip(), metric, comparison, value * (1000 if unit == "s" else 1), "ms"
        )
    if metric == "rate":
        if unit not in (None, "/s"):
            raise LoadError(f"threshold {text!r}: a rate is per second (e.g. rate>100)")
        return Threshold(text.strip(), metric, comparison, value, "/s")
    if unit == "%":
        return Threshold(text.strip(), metric, comparison, value / 100, "%")
    if unit is not None:
        raise LoadError(f"threshold {text!r}: {metric} takes % or a bare count")
    return Threshold(text.strip(), metric, comparison, value, "count")


def parse_thresholds(texts: list[str]) -> tuple[Threshold, ...]:
    if len(texts) > THRESHOLDS_MAX:
        raise LoadError(f"at most {THRESHOLDS_MAX} thresholds")
    return tuple(parse_threshold(text) for text in texts)


def measure(threshold: Threshold, summary: dict[str, Any]) -> float | None:
    if threshold.metric in LATENCY_METRICS:
        field, figure = LATENCY_METRICS[threshold.metric]
        value = summary[field].get(figure)
        return None if value is None else float(value)
    if threshold.metric == "rate":
        return float(summary["throughput_per_s"]["accepted"])
    count, base = _share(threshold.metric, summary)
    if threshold.unit == "count":
        return float(count)
    return count / base if base else 0.0


def _share(metric: str, summary: dict[str, Any]) -> tuple[int, int]:
    transfers, mix = summary["transfers"], summary["outcomes"]
    if metric == "errors":
        return transfers["errors"], transfers["started"]
    if metric == "returns":
        return mix["returned"] + mix["late_returned"], transfers["accepted"]
    return mix["pending"], transfers["accepted"]


def _shown(actual: float, unit: str) -> str:
    if unit == "%":
        return f"{actual * 100:.3g}%"
    if unit == "ms":
        return f"{actual:g}ms"
    return f"{actual:g}{'/s' if unit == '/s' else ''}"


def check_all(thresholds: tuple[Threshold, ...], summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [threshold.check(summary) for threshold in thresholds]


def render_results(results: list[dict[str, Any]]) -> str:
    """One line per threshold, k6-style: ✓ passed, ✗ failed, with the measured value."""
    lines = []
    for result in results:
        mark = "✓" if result["passed"] else "✗"
        actual = "no data" if result["actual"] is None else result["actual"]
        lines.append(f"  {mark} {result['threshold']}  (actual {actual})")
    return "\n".join(lines)
