"""The rule engine: defaults for the test numbers, matching, TOML and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from rails.rules import (
    DEFAULT_RULES,
    Rule,
    RuleBook,
    RuleMatch,
    RulesError,
    Step,
    load_rules_toml,
    parse_rules,
)


def decide(book: RuleBook, **fields: object) -> tuple[Step, ...]:
    entry: dict[str, object] = {
        "entry_id": "CR-1",
        "kind": "credit",
        "routing_number": "021000021",
        "account_number": "9900000002",
        "amount_cents": 100,
        "name": None,
    }
    entry.update(fields)
    return book.decide(**entry)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("routing", "account", "kind", "expected"),
    [
        ("021000021", "9900000000", "credit", ()),
        ("021000021", "9900000002", "credit", (Step(1, "settle"),)),
        ("021000021", "9900000004", "credit", (Step(1, "return", "R03"),)),
        ("021000021", "9900000004", "reversal", (Step(1, "return", "R03"),)),
        ("021000021", "9900000004", "debit", (Step(1, "return", "R01"),)),
        ("321174851", "123401", "credit", ()),
        ("321174851", "123403", "credit", (Step(1, "settle"),)),
        ("321174851", "123405", "credit", (Step(1, "return", "R03"),)),
        ("321174851", "123405", "debit", (Step(1, "return", "R01"),)),
        ("110000000", "9900000000", "credit", (Step(1, "settle"),)),
    ],
)
def test_default_rules_give_test_numbers_their_behaviour(
    routing: str, account: str, kind: str, expected: tuple[Step, ...]
) -> None:
    book = RuleBook(DEFAULT_RULES)
    assert decide(book, routing_number=routing, account_number=account, kind=kind) == expected


def test_first_matching_rule_wins() -> None:
    book = RuleBook(
        [
            Rule(match=RuleMatch(amount_cents_min=100, amount_cents_max=200), action="pending"),
            Rule(match=RuleMatch(amount_cents_min=100), action="return", code="R02"),
        ]
    )
    assert decide(book, amount_cents=150) == ()
    assert decide(book, amount_cents=201) == (Step(1, "return", "R02"),)
    assert decide(book, amount_cents=99) == (Step(1, "settle"),)


def test_name_matches_case_insensitively_with_patterns() -> None:
    book = RuleBook([Rule(match=RuleMatch(name="*fraud*"), action="return", code="R16")])
    assert decide(book, name="Known FRAUDster") == (Step(1, "return", "R16"),)
    assert decide(book, name=None) == (Step(1, "settle"),)


def test_late_return_settles_then_returns() -> None:
    rule = Rule(action="return", code="R10", after_banking_days=2, late_return_after_banking_days=5)
    book = RuleBook([rule])
    assert decide(book) == (Step(2, "settle"), Step(5, "return", "R10"))


def test_correction_settles_then_corrects() -> None:
    rule = Rule(action="correct", code="C01", corrected_data="12345678")
    assert decide(RuleBook([rule])) == (Step(1, "settle"), Step(0, "correct", "C01", "12345678"))


def test_rules_load_from_toml_with_defaults_appended(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'include_defaults = true\n[[rules]]\naction = "return"\ncode = "R02"\n'
        '[rules.match]\naccount_number = "5555*"\n'
    )
    rules = load_rules_toml(path)
    assert rules[0] == Rule(match=RuleMatch(account_number="5555*"), action="return", code="R02")
    assert rules[1:] == DEFAULT_RULES


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "return"},
        {"action": "return", "code": "R99"},
        {"action": "correct", "code": "C01"},
        {"action": "succeed", "code": "R01"},
        {"action": "explode"},
        {"action": "succeed", "after_banking_days": -1},
        {"action": "succeed", "after_banking_days": "1"},
        {"action": "succeed", "late_return_after_banking_days": 3},
        {"action": "succeed", "match": {"acount_number": "1"}},
        {"action": "succeed", "match": {"amount_cents_min": 5, "amount_cents_max": 4}},
    ],
)
def test_invalid_rules_are_refused(rule: dict[str, object]) -> None:
    with pytest.raises(RulesError):
        parse_rules([rule])


def test_rules_round_trip_through_json() -> None:
    book = RuleBook(DEFAULT_RULES)
    assert parse_rules(book.to_json()) == DEFAULT_RULES


def test_delay_postpones_the_first_step_only() -> None:
    rule = Rule(action="correct", code="C01", corrected_data="1", delay_ms=3_600_000)
    settle, correct = decide(RuleBook([rule]))
    assert (settle.delay_ms, correct.delay_ms) == (3_600_000, 0)


def test_probability_applies_a_rule_to_that_share_of_entries() -> None:
    book = RuleBook([Rule(action="return", code="R01", probability=0.1, seed=3)])
    outcomes = [decide(book, entry_id=f"CR-{index}") for index in range(10_000)]
    returned = sum(steps[0].event == "return" for steps in outcomes)
    assert 900 <= returned <= 1100


def test_probabilistic_outcomes_depend_only_on_seed_and_entry_id() -> None:
    def returned_ids(seed: int) -> list[str]:
        book = RuleBook([Rule(action="return", code="R01", probability=0.5, seed=seed)])
        ids = [f"CR-{index}" for index in range(64)]
        return [i for i in ids if decide(book, entry_id=i)[0].event == "return"]

    assert returned_ids(1) == returned_ids(1)
    assert returned_ids(1) != returned_ids(2)


def test_unmatched_draws_fall_through_to_later_rules() -> None:
    book = RuleBook(
        [
            Rule(action="return", code="R01", probability=0.5, seed=1),
            Rule(action="return", code="R02"),
        ]
    )
    codes = {decide(book, entry_id=f"CR-{index}")[0].code for index in range(64)}
    assert codes == {"R01", "R02"}


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "succeed", "probability": 0},
        {"action": "succeed", "probability": 1.5},
        {"action": "succeed", "seed": 3},
        {"action": "pending", "delay_ms": 5},
        {"action": "succeed", "delay_ms": -1},
    ],
)
def test_invalid_soak_settings_are_refused(rule: dict[str, object]) -> None:
    with pytest.raises(RulesError):
        parse_rules([rule])


def test_example_rules_file_loads() -> None:
    rules = load_rules_toml(Path(__file__).parents[2] / "rails" / "examples" / "rules.toml")
    assert rules[-len(DEFAULT_RULES) :] == DEFAULT_RULES
    assert {rule.action for rule in rules} == {"succeed", "return", "pending", "correct"}
