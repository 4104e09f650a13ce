"""When each request is due. The open model (k6's constant- and ramping-arrival-rate):
request n is due when the integral of the arrival rate reaches n, whether or not earlier
requests have answered, and its latency counts from that due time, so a slow target shows
as latency rather than as fewer requests (no coordinated omission). `--stages` ramps the
rate linearly from one target to the next, as k6's stages do."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ballast.load.config import DURATION_S_MAX, RATE_MAX, LoadError

STAGES_MAX = 100  # More stages than anyone writes by hand; a bound on the parser.
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Stage:
    """Over `duration_s`, the rate moves linearly from the previous stage's target (the
    start rate for the first stage) to `target_rate_per_s`."""

    duration_s: float
    target_rate_per_s: float


def parse_duration_s(text: str) -> float:
    """'500ms', '30s', '1.5m', '1h' → seconds; a bare number is seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    found = _DURATION.match(text)
    if found is None:
        raise LoadError(f"not a duration: {text!r} (write e.g. 500ms, 30s, 2m, 1h)")
    return float(found.group(1)) * _UNIT_S[found.group(2)]


def parse_stages(text: str) -> tuple[Stage, ...]:
    """'30s:100,60s:500,30s:0' → three stages; a clear LoadError for anything else."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise LoadError("stages: give DURATION:RATE[,DURATION:RATE…], e.g. 30s:100,60s:500,30s:0")
    if len(parts) > STAGES_MAX:
        raise LoadError(f"stages: at most {STAGES_MAX}")
    stages = []
    for part in parts:
        duration, colon, rate = part.partition(":")
        if not colon:
            raise LoadError(f"stage {part.strip()!r}: write DURATION:RATE, e.g. 30s:100")
        try:
            rate_per_s = float(rate)
        except ValueError:
            raise LoadError(f"stage {part.strip()!r}: {rate.strip()!r} is not a rate") from None
        stages.append(Stage(parse_duration_s(duration), rate_per_s))
    check_stages(tuple(stages))
    return tuple(stages)


def check_stages(stages: tuple[Stage, ...]) -> None:
    for stage in stages:
        if not 0 < stage.duration_s <= DURATION_S_MAX:
            raise LoadError(f"stage duration: more than 0, up to {DURATION_S_MAX:.0f} s")
        if not 0 <= stage.target_rate_per_s <= RATE_MAX:
            raise LoadError(f"stage rate: 0..{RATE_MAX:.0f}/s")
    if sum(stage.duration_s for stage in stages) > DURATION_S_MAX:
        raise LoadError(f"stages: up to {DURATION_S_MAX:.0f} s in all")


def stages_duration_s(stages: tuple[Stage, ...]) -> float:
    return sum(stage.duration_s for stage in stages)


def stages_count(stages: tuple[Stage, ...], start_rate_per_s: float) -> int:
    """How many arrivals the stages make (the area under the rate)."""
    total, rate_from = 0.0, start_rate_per_s
    for stage in stages:
        total += (rate_from + stage.target_rate_per_s) * stage.duration_s / 2
        rate_from = stage.target_rate_per_s
    return math.ceil(total - 1e-9)


def arrival_offsets_s(stages: tuple[Stage, ...], start_rate_per_s: float) -> Iterator[float]:
    """Seconds since the start at which arrival 0, 1, 2 … is due."""
    stage_start_s, arrivals_before, index, rate_from = 0.0, 0.0, 0, start_rate_per_s
    for stage in stages:
        rate_to = stage.target_rate_per_s
        stage_arrivals = (rate_from + rate_to) * stage.duration_s / 2
        while index < arrivals_before + stage_arrivals - 1e-9:
            into_stage = index - arrivals_before
            offset_s = _time_of(into_stage, rate_from, rate_to, stage.duration_s)
            yield stage_start_s + min(offset_s, stage.duration_s)
            index += 1
        arrivals_before += stage_arrivals
        stage_start_s += stage.duration_s
        rate_from = rate_to


def _time_of(arrivals: float, rate_from: float, rate_to: float, duration_s: float) -> float:
    """The τ at which ∫₀^τ rate = `arrivals`, the rate going linearly from `rate_from` to
    `rate_to` over `duration_s`: the root of (slope/2)·τ² + rate_from·τ - arrivals = 0."""
    assert arrivals >= 0 and duration_s > 0
    slope = (rate_to - rate_from) / duration_s
    if abs(slope) < 1e-12:
        return arrivals / rate_from
    discriminant = max(0.0, rate_from * rate_from + 2 * slope * arrivals)
    return (math.sqrt(discriminant) - rate_from) / slope
