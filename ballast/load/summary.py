"""The summary of a run: every figure of the report, computed once from the recorder.
Latency percentiles come from HDR histograms (three significant digits); the timeline
gives per-bucket throughput, errors, status codes, requests in flight and latency
percentiles, in buckets of a round width that keeps the figures readable."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

from ballast.load.config import DRAIN_TIMEOUT_S_MAX, DURATION_S_MAX, LoadConfig
from ballast.load.latency import figures_ms, new_histogram, percentiles_ms, record_ms
from ballast.load.recorder import ERROR, OUTCOME_NAMES, STATUS_NO_ANSWER, Outcomes, Recorder

# Round bucket widths; the narrowest that draws the run in at most TIMELINE_BUCKETS_MAX
# buckets: enough points for a shape, few enough that each bucket holds a fair sample.
TIMELINE_BUCKET_WIDTHS_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
TIMELINE_BUCKETS_MAX = 60
assert (DURATION_S_MAX + DRAIN_TIMEOUT_S_MAX) / TIMELINE_BUCKET_WIDTHS_S[-1] <= TIMELINE_BUCKETS_MAX
# The latency distribution (HDR's percentile plot): percentiles up to 99.99.
DISTRIBUTION_PERCENTILES = (0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100)


@dataclass(frozen=True)
class Timing:
    started_s: float
    load_ended_s: float
    ended_s: float


def bucket_width_s(span_s: float) -> float:
    for width_s in TIMELINE_BUCKET_WIDTHS_S:
        if span_s / width_s <= TIMELINE_BUCKETS_MAX:
            return width_s
    return TIMELINE_BUCKET_WIDTHS_S[-1]


def status_name(status: int) -> str:
    return "no answer" if status == STATUS_NO_ANSWER else str(status)


def _reached(values: Any) -> list[float]:
    return sorted(value for value in values if not math.isnan(value))


def _latencies(recorder: Recorder) -> dict[str, Any]:
    """The figures of submission (scheduled → answer, accepted only), end-to-end
    (scheduled → first outcome) and send delay (scheduled → sent: how far the sender fell
    behind) latencies, and their distributions."""
    submit, end_to_end, behind = new_histogram(), new_histogram(), new_histogram()
    sums_ms = [0.0, 0.0, 0.0]
    rows = zip(
        recorder.scheduled,
        recorder.sent,
        recorder.answered,
        recorder.finished,
        recorder.outcome,
        strict=True,
    )
    for scheduled, sent, answered, finished, outcome in rows:
        sums_ms[2] += record_ms(behind, (sent - scheduled) * 1000)
        if outcome != ERROR and not math.isnan(answered):
            sums_ms[0] += record_ms(submit, (answered - scheduled) * 1000)
        if not math.isnan(finished):
            sums_ms[1] += record_ms(end_to_end, (finished - scheduled) * 1000)
    return {
        "submit_latency_ms": figures_ms(submit, sums_ms[0]),
        "outcome_latency_ms": figures_ms(end_to_end, sums_ms[1]),
        "send_delay_ms": figures_ms(behind, sums_ms[2]),
        "distribution": {"submit_ms": distribution(submit), "outcome_ms": distribution(end_to_end)},
    }


def distribution(histogram: HdrHistogram) -> list[list[float]]:
    """[percentile, ms] pairs for the percentile plot; empty when there is no sample."""
    found = percentiles_ms(histogram, DISTRIBUTION_PERCENTILES)
    return [[percent, value_ms] for percent, value_ms in found.items()]


def _bucket_of(at_s: float, timing: Timing, width_s: float, buckets: int) -> int:
    return min(max(0, int((at_s - timing.started_s) / width_s)), buckets - 1)


def timeline(recorder: Recorder, timing: Timing) -> dict[str, Any]:
    """Per bucket since the start: answers accepted and refused, outcomes, status codes,
    requests in flight at the bucket's end, and latency percentiles of its answers
    (submission) and of its outcomes (end to end)."""
    span_s = max(timing.ended_s - timing.started_s, 1e-9)
    width_s = bucket_width_s(span_s)
    buckets = max(1, math.ceil(span_s / width_s))
    rows: list[dict[str, Any]] = [
        {
            "start_s": round(i * width_s, 3),
            "accepted": 0,
            "errors": 0,
            "outcomes": 0,
            "statuses": Counter(),
        }
        for i in range(buckets)
    ]
    submit = [new_histogram() for _ in range(buckets)]
    end_to_end = [new_histogram() for _ in range(buckets)]
    for index in range(len(recorder)):
        scheduled, answered = recorder.scheduled[index], recorder.answered[index]
        if not math.isnan(answered):
            bucket = _bucket_of(answered, timing, width_s, buckets)
            rows[bucket]["statuses"][status_name(recorder.status[index])] += 1
            if recorder.outcome[index] == ERROR:
                rows[bucket]["errors"] += 1
            else:
                rows[bucket]["accepted"] += 1
                record_ms(submit[bucket], (answered - scheduled) * 1000)
        finished = recorder.finished[index]
        if not math.isnan(finished):
            bucket = _bucket_of(finished, timing, width_s, buckets)
            rows[bucket]["outcomes"] += 1
            record_ms(end_to_end[bucket], (finished - scheduled) * 1000)
    sent, answered_sorted = _reached(recorder.sent), _reached(recorder.answered)
    for i, row in enumerate(rows):
        end_s = timing.started_s + (i + 1) * width_s
        row["in_flight"] = bisect_right(sent, end_s) - bisect_right(answered_sorted, end_s)
        row["statuses"] = dict(row["statuses"])
        row["submit_ms"] = _bucket_figures(submit[i])
        row["e2e_ms"] = _bucket_figures(end_to_end[i])
    return {"bucket_s": width_s, "rows": rows}


def _bucket_figures(histogram: HdrHistogram) -> dict[str, float]:
    found = percentiles_ms(histogram, (50, 90, 99))
    return {f"p{percent}": value_ms for percent, value_ms in found.items()}


def settings(config: LoadConfig) -> dict[str, Any]:
    """The settings that shaped this run (not where its report went, nor secrets)."""
    scenario = config.effective_scenario
    shown: dict[str, Any] = {
        "target": config.target,
        "url": config.url,
        "model": "open (arrival rate)" if config.is_open else "closed (concurrent users)",
        "scenario": scenario.name,
        "count": config.count,
        "duration_s": config.duration_s,
        "rate_per_s": config.rate,
        "stages": ",".join(f"{s.duration_s:g}s:{s.target_rate_per_s:g}" for s in config.stages)
        or None,
        "in_flight_max" if config.is_open else "concurrency": config.in_flight_max,
        "transfers_max": config.transfers_max,
        "drain_timeout_s": config.drain_timeout_s,
        "thresholds": [t.text for t in config.thresholds] or None,
    }
    if config.target == "pipeline":
        shown["orders"] = config.orders
    return {key: value for key, value in shown.items() if value is not None}


def _mix(outcomes: bytearray | bytes) -> dict[str, int]:
    return {name: outcomes.count(code) for code, name in OUTCOME_NAMES.items()}


def by_step(config: LoadConfig, recorder: Recorder) -> list[dict[str, Any]]:
    steps = config.effective_scenario.steps
    groups: list[bytearray] = [bytearray() for _ in steps]
    for step, outcome in zip(recorder.step, recorder.outcome, strict=True):
        groups[step].append(outcome)
    return [
        {
            "step": i,
            "kind": step.kind,
            "weight": step.weight,
            "started": len(groups[i]),
            "outcomes": _mix(groups[i]),
        }
        for i, step in enumerate(steps)
    ]


def summarize(
    config: LoadConfig, recorder: Recorder, outcomes: Outcomes, timing: Timing
) -> dict[str, Any]:
    latencies = _latencies(recorder)
    load_s = max(timing.load_ended_s - timing.started_s, 1e-9)
    finished = _reached(recorder.finished)
    outcome_span_s = (finished[-1] - timing.started_s) if finished else math.nan
    statuses = Counter(
        status_name(recorder.status[i])
        for i in range(len(recorder))
        if not math.isnan(recorder.answered[i])
    )
    return {
        "config": settings(config),
        "transfers": {
            "started": len(recorder),
            "accepted": recorder.accepted_count,
            "errors": recorder.errors,
        },
        "status_codes": dict(sorted(statuses.items())),
        "outcomes": _mix(recorder.outcome),
        "by_step": by_step(config, recorder),
        "load_duration_s": round(load_s, 3),
        "drain_duration_s": round(timing.ended_s - timing.load_ended_s, 3),
        "total_duration_s": round(timing.ended_s - timing.started_s, 3),
        "throughput_per_s": {
            "scheduled": round(len(recorder) / load_s, 1),
            "accepted": round(recorder.accepted_count / load_s, 1),
            "outcomes": round(len(finished) / outcome_span_s, 1) if finished else 0.0,
        },
        **latencies,
        "timeline": timeline(recorder, timing),
        "notifications": {"duplicates": outcomes.duplicates, "rejected": outcomes.rejected},
    }
