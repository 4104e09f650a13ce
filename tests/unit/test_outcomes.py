"""What a rail decision posts (`ledger.outcomes.outcome_lines`) and where a rail
transfer's money lives while it is ours (`home_account`): every posting balances, success
settles at the bank, failure brings the money home."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest

from ledger.outcomes import home_account, outcome_lines
from ledger.status import ALLOWED_TRANSITIONS, Status

MP = "TEST-MP0000000000000001"
ORDER = "OR0000000000000001"
PAYABLE = "AT0000000000000001"
BANK_ACCOUNT = "BA0000000000000001"
AMOUNT_CENTS = 1_234
IN_FLIGHT, SETTLED, ESCROW = f"{MP}:ach_in_flight", f"{MP}:ach_settled", f"{MP}:escrow"


def _credit(order_id: str | None = ORDER) -> dict[str, Any]:
    return {
        "kind": "credit",
        "marketplace_id": MP,
        "order_id": order_id,
        "amount_cents": AMOUNT_CENTS,
        "rail_entry_kind": "credit",
        "source_id": None,
        "destination_id": BANK_ACCOUNT,
        "destination_kind": "bank_account",
    }


def _settlement(rail_entry_kind: str) -> dict[str, Any]:
    """A payable account paid out to the bank (`SC`, a rail credit) or collected from it
    (`SD`, a rail debit)."""
    paying_out = rail_entry_kind == "credit"
    return {
        "kind": "settlement",
        "marketplace_id": MP,
        "order_id": None,
        "amount_cents": AMOUNT_CENTS,
        "rail_entry_kind": rail_entry_kind,
        "source_id": PAYABLE if paying_out else BANK_ACCOUNT,
        "destination_id": BANK_ACCOUNT if paying_out else PAYABLE,
        "destination_kind": "bank_account" if paying_out else "account",
    }


def test_a_credits_home_is_its_orders_escrow_or_else_the_marketplaces() -> None:
    assert home_account(_credit()) == ORDER
    assert home_account(_credit(order_id=None)) == ESCROW


def test_a_settlements_home_is_its_payable_account_in_either_direction() -> None:
    assert home_account(_settlement("credit")) == PAYABLE
    assert home_account(_settlement("debit")) == PAYABLE


def test_a_settlement_whose_account_is_not_a_payable_account_is_a_bug() -> None:
    # A payout lands at a bank account and a collection at the payable account; a row
    # saying otherwise has its sides the wrong way round.
    for row in (
        {**_settlement("credit"), "destination_kind": "account"},
        {**_settlement("debit"), "destination_kind": "bank_account"},
    ):
        with pytest.raises(AssertionError):
            home_account(row)


def test_a_settled_credit_moves_from_flight_to_the_bank() -> None:
    lines = outcome_lines(_credit(), Status.PENDING, Status.SUCCEEDED)
    assert lines == {IN_FLIGHT: -AMOUNT_CENTS, SETTLED: AMOUNT_CENTS}


def test_a_credit_failed_in_flight_comes_back_to_its_escrow() -> None:
    lines = outcome_lines(_credit(), Status.PENDING, Status.FAILED)
    assert lines == {IN_FLIGHT: -AMOUNT_CENTS, ORDER: AMOUNT_CENTS}


def test_a_credit_returned_after_settling_comes_back_from_the_bank() -> None:
    lines = outcome_lines(_credit(order_id=None), Status.SUCCEEDED, Status.FAILED)
    assert lines == {SETTLED: -AMOUNT_CENTS, ESCROW: AMOUNT_CENTS}


def test_a_collection_mirrors_a_payout() -> None:
    collected = outcome_lines(_settlement("debit"), Status.PENDING, Status.SUCCEEDED)
    assert collected == {IN_FLIGHT: AMOUNT_CENTS, SETTLED: -AMOUNT_CENTS}
    refused = outcome_lines(_settlement("debit"), Status.PENDING, Status.FAILED)
    assert refused == {IN_FLIGHT: AMOUNT_CENTS, PAYABLE: -AMOUNT_CENTS}
    returned = outcome_lines(_settlement("credit"), Status.SUCCEEDED, Status.FAILED)
    assert returned == {SETTLED: -AMOUNT_CENTS, PAYABLE: AMOUNT_CENTS}


@pytest.mark.parametrize(
    ("row", "previous", "target"),
    [
        (row, previous, target)
        for row, (previous, targets) in product(
            [_credit(), _credit(None), _settlement("credit"), _settlement("debit")],
            ALLOWED_TRANSITIONS.items(),
        )
        for target in targets
    ],
)
def test_every_decision_posts_a_balanced_two_line_posting(
    row: dict[str, Any], previous: Status, target: Status
) -> None:
    lines = outcome_lines(row, previous, target)
    assert len(lines) == 2
    assert sum(lines.values()) == 0
    assert sorted(abs(cents) for cents in lines.values()) == [AMOUNT_CENTS, AMOUNT_CENTS]


def test_reversals_have_rules_of_their_own() -> None:
    with pytest.raises(AssertionError):
        outcome_lines({**_credit(), "kind": "reversal"}, Status.PENDING, Status.SUCCEEDED)
