"""Scenarios: a TOML file mixing transfer kinds with weights, amounts, the share sent to
failing, late-returning and corrected (NOC) test accounts, and think times; optionally
the load shape. Which step transfer n takes, and its amount and account, follow from n
alone (low-discrepancy sequences), so any prefix of a run has the scenario's mix and
the same scenario gives the same transfers on every run and on every Locust worker."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ballast.load.config import AMOUNT_CENTS, LoadError, Target

StepKind = Literal["credit", "debit", "reversal", "refund", "settlement"]
# What each target can do: ACH debits exist on the rail only (ballast's API has no
# bank-account debits); refunds and settlements are the API's, not the rail's.
KINDS_BY_TARGET: dict[Target, tuple[str, ...]] = {
    "rail": ("credit", "debit", "reversal"),
    "pipeline": ("credit", "reversal", "refund", "settlement"),
}
STEPS_MAX = 20
SCENARIO_BYTES_MAX = 64 * 1024  # A hand-written file; anything bigger is a mistake.
AMOUNT_CENTS_MAX = 10**8  # $1,000,000.00 a transfer: escrow for a whole run stays bounded.
THINK_TIME_MS_MAX = 60_000
# Irrational steps of the low-discrepancy (Weyl) sequences: one per independent choice,
# so that the step, the account and the amount of transfer n are not correlated.
_STEP_STRIDE = (math.sqrt(5) - 1) / 2
_AMOUNT_STRIDE = math.sqrt(3) - 1
_THINK_STRIDE = math.sqrt(7) - 2

Variant = Literal["succeeds", "fails", "late_return", "correction"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Percent = Annotated[float, Field(ge=0, le=100)]
Cents = Annotated[int, Field(ge=1, le=AMOUNT_CENTS_MAX)]
ThinkMs = Annotated[int, Field(ge=0, le=THINK_TIME_MS_MAX)]


class Step(_Strict):
    kind: StepKind
    weight: Annotated[float, Field(gt=0, le=1_000_000)] = 1.0
    # One amount, or [least, most] drawn evenly.
    amount_cents: Cents | tuple[Cents, Cents] = AMOUNT_CENTS
    failing_percent: Percent = 0.0  # Sent to the account that is returned (R03, R01 debits).
    late_return_percent: Percent = 0.0  # Settle first, then come back R02.
    correction_percent: Percent = 0.0  # Settle, then a notification of change (C01).
    # Closed model only: the pause after this step before the same user's next one.
    think_time_ms: ThinkMs | tuple[ThinkMs, ThinkMs] = 0

    @model_validator(mode="after")
    def _check(self) -> Step:
        shares = self.failing_percent + self.late_return_percent + self.correction_percent
        if shares > 100:
            raise ValueError("failing + late_return + correction percentages exceed 100")
        for name in ("amount_cents", "think_time_ms"):
            value = getattr(self, name)
            if isinstance(value, tuple) and value[0] > value[1]:
                raise ValueError(f"{name}: [least, most] with least <= most")
        return self

    @property
    def amount_cents_max(self) -> int:
        return self.amount_cents[1] if isinstance(self.amount_cents, tuple) else self.amount_cents


class LoadShape(_Strict):
    """The scenario's load, used unless the command line gives its own."""

    target: Target | None = None
    rate: Annotated[float, Field(gt=0)] | None = None
    stages: str | None = None
    duration: str | float | None = None  # "90s", "5m", or seconds.
    count: Annotated[int, Field(ge=1)] | None = None
    concurrency: Annotated[int, Field(ge=1)] | None = None
    thresholds: list[str] = []


class Scenario(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: str = ""
    load: LoadShape = LoadShape()
    steps: Annotated[list[Step], Field(min_length=1, max_length=STEPS_MAX)]


@dataclass(frozen=True)
class Transfer:
    """What transfer n is: its step's index in the scenario, amount and account."""

    step_index: int
    kind: str
    amount_cents: int
    variant: Variant
    think_time_ms: int


def default_scenario(returns_percent: float) -> Scenario:
    """Today's plain run: $1.00 credits, `returns_percent` of them to the failing account."""
    step = Step(kind="credit", failing_percent=returns_percent)
    return Scenario(name="credits", steps=[step])


def shipped_scenarios() -> dict[str, Path]:
    folder = resources.files("ballast.load") / "scenarios"
    return {
        Path(str(item)).stem: Path(str(item))
        for item in folder.iterdir()
        if item.name.endswith(".toml")
    }


def load_scenario(reference: str) -> Scenario:
    """A scenario from a path, or a shipped one by name (`payday`); LoadError saying what
    is wrong, in one line, for anything else."""
    shipped = shipped_scenarios()
    path = shipped[reference] if reference in shipped else Path(reference)
    try:
        raw = path.read_bytes()
    except OSError as error:
        known = ", ".join(sorted(shipped))
        raise LoadError(f"scenario {reference}: {error.strerror} (shipped: {known})") from None
    if len(raw) > SCENARIO_BYTES_MAX:
        raise LoadError(f"scenario {path}: larger than {SCENARIO_BYTES_MAX} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        return Scenario.model_validate(data)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LoadError(f"scenario {path}: not TOML: {error}") from None
    except ValidationError as error:
        raise LoadError(f"scenario {path}: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """The first problems of a validation error, each as `where: what`."""
    parts = []
    for detail in error.errors(include_url=False)[:3]:
        where = ".".join(str(part) for part in detail["loc"])
        parts.append(f"{where}: {detail['msg']}" if where else detail["msg"])
    return "; ".join(parts)


def check_target(scenario: Scenario, target: Target) -> None:
    allowed = KINDS_BY_TARGET[target]
    for step in scenario.steps:
        if step.kind not in allowed:
            raise LoadError(
                f"scenario {scenario.name}: {step.kind!r} steps cannot run against the "
                f"{target} (it takes {', '.join(allowed)})"
            )


def _fraction(index: int, stride: float) -> float:
    return math.fmod((index + 1) * stride, 1.0)


def _van_der_corput(index: int) -> float:
    """The base-2 van der Corput sequence: index's bits mirrored after the binary point.
    Any run of n transfers holds within a few of n·p below p, for any share p (exactly
    n/2 below 0.5, n/4 below 0.25 …), so small runs have the scenario's failure mix."""
    fraction, weight = 0.0, 0.5
    while index:
        fraction += weight * (index & 1)
        index >>= 1
        weight /= 2
    return fraction


def _between(bounds: int | tuple[int, int], fraction: float) -> int:
    if isinstance(bounds, int):
        return bounds
    least, most = bounds
    return least + min(most - least, math.floor(fraction * (most - least + 1)))


class Mix:
    """Transfer n of a scenario, from n alone."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        total = sum(step.weight for step in scenario.steps)
        running, self._bounds = 0.0, []
        for step in scenario.steps:
            running += step.weight / total
            self._bounds.append(running)

    def transfer(self, index: int) -> Transfer:
        assert index >= 0
        draw = _fraction(index, _STEP_STRIDE)
        step_index = next(
            (i for i, bound in enumerate(self._bounds) if draw < bound), len(self._bounds) - 1
        )
        step = self.scenario.steps[step_index]
        return Transfer(
            step_index=step_index,
            kind=step.kind,
            amount_cents=_between(step.amount_cents, _fraction(index, _AMOUNT_STRIDE)),
            variant=_variant(step, _van_der_corput(index) * 100),
            think_time_ms=_between(step.think_time_ms, _fraction(index, _THINK_STRIDE)),
        )

    @property
    def needs_rail_rules(self) -> bool:
        """Late returns and corrections need the load rules on the rail (railcontrol)."""
        return any(s.late_return_percent or s.correction_percent for s in self.scenario.steps)


def _variant(step: Step, draw_percent: float) -> Variant:
    if draw_percent < step.failing_percent:
        return "fails"
    draw_percent -= step.failing_percent
    if draw_percent < step.late_return_percent:
        return "late_return"
    draw_percent -= step.late_return_percent
    if draw_percent < step.correction_percent:
        return "correction"
    return "succeeds"
