"""The rule engine: which outcome an entry gets, decided once when it is submitted.

Modelled on Moov's ach-test-harness `responses`: rules are checked in order and the
first whose every given field matches wins; an entry no rule matches settles in the first
settlement window it catches (rails.windows). A rule's outcome is compiled into `Step`s
(settle / return / correct, each some banking days after the previous one) that the
scheduler fires later. A rule with a `probability` matches only that share of the entries
it would otherwise match, drawn from a hash of its seed and the entry's id: deterministic
whatever the order or concurrency of submissions, so a soak test can be replayed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from rails.clock import BANKING_DAYS_MAX, DAY_MS
from rails.codes import CORRECTION_REASONS, RETURN_REASONS
from rails.models import AMOUNT_CENTS_MAX, Kind

Action = Literal["succeed", "return", "pending", "correct"]
Event = Literal["settle", "return", "correct"]

# Rules are matched linearly on every submission; a thousand keeps that well under a
# millisecond while being far more than any test scenario or load profile needs.
RULES_MAX = 1000
PATTERN_LENGTH_MAX = 64  # Longer than any routing/account number or sensible name glob.
CORRECTED_DATA_LENGTH_MAX = 29  # The width of the corrected-data field of a COR addenda.
# A delay longer than NACHA's longest return window (60 calendar days) is a mistake.
DELAY_MS_MAX = 60 * DAY_MS
SEED_MAX = 2**63 - 1  # Any non-negative 64-bit seed; TOML integers are 64-bit.
# Draws are 64-bit hashes mapped to [0, 1): finer than any rate a soak test asks for.
DRAW_SCALE = 2**64

Pattern = Annotated[str, Field(min_length=1, max_length=PATTERN_LENGTH_MAX)]
BankingDays = Annotated[int, Field(ge=0, le=BANKING_DAYS_MAX)]


class RulesError(ValueError):
    """The rules are invalid."""


class RuleMatch(BaseModel):
    """Fields an entry must match; absent fields match anything.

    Routing and account numbers are exact strings or fnmatch patterns (`*01`); the name
    is a case-insensitive pattern because names arrive in any case. Amounts are inclusive.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    routing_number: Pattern | None = None
    account_number: Pattern | None = None
    name: Pattern | None = None
    kind: Kind | None = None
    amount_cents_min: Annotated[int, Field(ge=0, le=AMOUNT_CENTS_MAX)] | None = None
    amount_cents_max: Annotated[int, Field(ge=0, le=AMOUNT_CENTS_MAX)] | None = None


class Rule(BaseModel):
    """One rule, in the same shape in TOML `[[rules]]` tables and in `PUT /rules`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    match: RuleMatch = RuleMatch()
    action: Action
    code: str | None = None
    corrected_data: Annotated[str, Field(max_length=CORRECTED_DATA_LENGTH_MAX)] | None = None
    after_banking_days: BankingDays = 1
    # For `return` only: settle first after `after_banking_days`, then return this many
    # banking days after the settlement (a late return, e.g. R10 weeks later).
    late_return_after_banking_days: BankingDays | None = None
    # Simulated milliseconds added to the first outcome's due time (Moov's `delay`): e.g.
    # 43_200_000 returns an entry 12 hours after its settlement window instead of at it.
    delay_ms: Annotated[int, Field(ge=0, le=DELAY_MS_MAX)] | None = None
    # Match only this share of the entries the rule's `match` selects (a failure rate for
    # soak tests); the draw hashes `seed`, the rule's position and the entry id.
    probability: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] | None = None

    @model_validator(mode="after")
    def _check_action_fields(self) -> Rule:
        if self.action == "return" and self.code not in RETURN_REASONS:
            raise ValueError(f"action 'return' needs a known R code, got {self.code!r}")
        if self.action == "correct":
            if self.code not in CORRECTION_REASONS:
                raise ValueError(f"action 'correct' needs a known C code, got {self.code!r}")
            if not self.corrected_data:
                raise ValueError("action 'correct' needs corrected_data")
        if self.action in ("succeed", "pending") and self.code is not None:
            raise ValueError(f"action {self.action!r} takes no code")
        if self.action != "correct" and self.corrected_data is not None:
            raise ValueError("corrected_data is only for action 'correct'")
        if self.action != "return" and self.late_return_after_banking_days is not None:
            raise ValueError("late_return_after_banking_days is only for action 'return'")
        low, high = self.match.amount_cents_min, self.match.amount_cents_max
        if low is not None and high is not None and low > high:
            raise ValueError("amount_cents_min is above amount_cents_max")
        if self.seed is not None and self.probability is None:
            raise ValueError("seed is only for rules with a probability")
        if self.action == "pending" and self.delay_ms is not None:
            raise ValueError("a pending entry has no outcome to delay")
        return self


@dataclass(frozen=True, slots=True)
class Step:
    """One scheduled outcome. Shared by every entry of its rule, so it costs no memory
    per entry: the scheduler's heap items only point at it."""

    # The first step counts from the entry's settlement window (rails.windows); later
    # steps count banking days from the previous step.
    after_banking_days: int
    event: Event
    code: str | None = None
    corrected_data: str | None = None
    delay_ms: int = 0  # Simulated milliseconds on top of the banking days.


def steps_for(rule: Rule) -> tuple[Step, ...]:
    after = rule.after_banking_days
    delay_ms = rule.delay_ms or 0
    if rule.action == "pending":
        return ()
    if rule.action == "succeed":
        return (Step(after, "settle", delay_ms=delay_ms),)
    if rule.action == "correct":
        # A NOC follows a posted entry: the entry settles, then the correction arrives.
        return (
            Step(after, "settle", delay_ms=delay_ms),
            Step(0, "correct", rule.code, rule.corrected_data),
        )
    late = rule.late_return_after_banking_days
    if late is None:
        return (Step(after, "return", rule.code, delay_ms=delay_ms),)
    return (Step(after, "settle", delay_ms=delay_ms), Step(late, "return", rule.code))


def draw(seed: int, position: int, entry_id: str) -> float:
    """A uniform draw in [0, 1) that depends only on its arguments."""
    digest = hashlib.blake2b(
        entry_id.encode(), digest_size=8, key=f"{seed}:{position}".encode()
    ).digest()
    return int.from_bytes(digest, "big") / DRAW_SCALE


def _matcher(pattern: str | None, *, fold_case: bool = False) -> Callable[[str], bool] | None:
    """A predicate for an exact string or a glob, compiled once per rule, not per entry."""
    if pattern is None:
        return None
    if any(char in pattern for char in "*?["):
        flags = re.IGNORECASE if fold_case else 0
        compiled = re.compile(fnmatch.translate(pattern), flags)
        return lambda value: compiled.match(value) is not None
    if fold_case:
        folded = pattern.casefold()
        return lambda value: value.casefold() == folded
    return pattern.__eq__


class _CompiledRule:
    __slots__ = (
        "account",
        "high",
        "kind",
        "low",
        "name",
        "position",
        "probability",
        "routing",
        "seed",
        "steps",
    )

    def __init__(self, rule: Rule, position: int) -> None:
        match = rule.match
        self.position = position
        self.probability = rule.probability
        self.seed = rule.seed or 0
        self.routing = _matcher(match.routing_number)
        self.account = _matcher(match.account_number)
        self.name = _matcher(match.name, fold_case=True)
        self.kind = match.kind
        self.low = match.amount_cents_min
        self.high = match.amount_cents_max
        self.steps = steps_for(rule)

    def matches(self, kind: str, routing: str, account: str, amount: int, name: str | None) -> bool:
        if self.kind is not None and kind != self.kind:
            return False
        if self.low is not None and amount < self.low:
            return False
        if self.high is not None and amount > self.high:
            return False
        if self.routing is not None and not self.routing(routing):
            return False
        if self.account is not None and not self.account(account):
            return False
        return self.name is None or (name is not None and self.name(name))

    def drawn(self, entry_id: str) -> bool:
        """Whether a rule with a probability applies to this entry (always without one)."""
        if self.probability is None:
            return True
        return draw(self.seed, self.position, entry_id) < self.probability


FALLBACK_STEPS = steps_for(Rule(action="succeed"))


class RuleBook:
    """An immutable, compiled rule list. Replacing rules swaps in a new RuleBook, so an
    entry being decided never sees half of an old list and half of a new one."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        assert len(rules) <= RULES_MAX, len(rules)
        self.rules = tuple(rules)
        self._compiled = tuple(
            _CompiledRule(rule, position) for position, rule in enumerate(self.rules)
        )

    def decide(
        self,
        *,
        entry_id: str,
        kind: str,
        routing_number: str,
        account_number: str,
        amount_cents: int,
        name: str | None,
    ) -> tuple[Step, ...]:
        for rule in self._compiled:
            matched = rule.matches(kind, routing_number, account_number, amount_cents, name)
            if matched and rule.drawn(entry_id):
                return rule.steps
        return FALLBACK_STEPS

    def to_json(self) -> list[dict[str, Any]]:
        return [rule.model_dump(mode="json", exclude_none=True) for rule in self.rules]


_RULE_LIST = TypeAdapter(list[Rule])


def parse_rules(data: object) -> tuple[Rule, ...]:
    """Validate a JSON/TOML-decoded rule list; raises RulesError with a readable reason."""
    if not isinstance(data, list):
        raise RulesError("rules must be a list")
    if len(data) > RULES_MAX:
        raise RulesError(f"at most {RULES_MAX} rules")
    try:
        return tuple(_RULE_LIST.validate_python(data))
    except ValidationError as error:
        raise RulesError(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    parts = []
    for detail in error.errors(include_url=False)[:5]:
        location = ".".join(str(part) for part in detail["loc"])
        parts.append(f"{location}: {detail['msg']}" if location else detail["msg"])
    return "; ".join(parts)


def load_rules_toml(path: str | Path) -> tuple[Rule, ...]:
    """Rules from a TOML file of `[[rules]]` tables; `include_defaults = true` at the top
    level appends the default rules after the file's own."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise RulesError(f"cannot read rules from {path}: {error}") from None
    unknown = set(document) - {"rules", "include_defaults"}
    if unknown:
        raise RulesError(f"unknown top-level keys in {path}: {sorted(unknown)}")
    rules = parse_rules(document.get("rules", []))
    if document.get("include_defaults", False) is True:
        rules += DEFAULT_RULES
    if len(rules) > RULES_MAX:
        raise RulesError(f"at most {RULES_MAX} rules")
    return rules


def _test_number_rules(routing: str, accounts: tuple[str, str, str]) -> tuple[Rule, ...]:
    """Pending / succeed / return for a test routing number: returns are R01 for debits
    (the receiver lacks funds) and R03 for credits and reversals (no such account)."""
    pending, succeed, fail = accounts
    return (
        Rule(match=RuleMatch(routing_number=routing, account_number=pending), action="pending"),
        Rule(match=RuleMatch(routing_number=routing, account_number=succeed), action="succeed"),
        Rule(
            match=RuleMatch(routing_number=routing, account_number=fail, kind="debit"),
            action="return",
            code="R01",
        ),
        Rule(
            match=RuleMatch(routing_number=routing, account_number=fail),
            action="return",
            code="R03",
        ),
    )


# Balanced's documented test bank accounts; everything else succeeds (FALLBACK_STEPS).
DEFAULT_RULES = _test_number_rules(
    "021000021", ("9900000000", "9900000002", "9900000004")
) + _test_number_rules("321174851", ("*01", "*03", "*05"))
