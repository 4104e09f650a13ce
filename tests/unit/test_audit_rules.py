"""The audit's rules on hand-built snapshots (`ledger.audit.expected_lines` and `check`):
a ledger that matches its transfers' histories is clean, and one that counts a credit's
money twice, or whose accounts drifted, is reported."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.audit import Lines, Snapshot, Transfer, check, expected_lines

MP = "TEST-MP0000000000000001"
ORDER = "OR0000000000000001"
BANK_ACCOUNT = "BA0000000000000001"
PAYABLE = "AT0000000000000001"
CREDIT_ID, REVERSAL_ID = "CR0000000000000001", "RV0000000000000001"
CREDIT_CENTS, REVERSAL_CENTS = 1_000, 300
SETTLED, NETWORK, IN_FLIGHT = f"{MP}:ach_settled", f"{MP}:card_network", f"{MP}:ach_in_flight"
DAY_1 = datetime(2026, 3, 2, 15, tzinfo=UTC)


def _transfer(transfer_id: str, kind: str, amount_cents: int, **facts: Any) -> Transfer:
    defaults: dict[str, Any] = {
        "id": transfer_id,
        "marketplace_id": MP,
        "kind": kind,
        "status": "pending",
        "amount_cents": amount_cents,
        "order_id": ORDER,
        "source_id": None,
        "destination_id": None,
        "parent_id": None,
        "bank_account_id": None,
        "succeeded_at": None,
        "failed_at": None,
        "compensates_id": None,
    }
    return Transfer(**{**defaults, **facts})


def _bank_credit(**facts: Any) -> Transfer:
    return _transfer(
        CREDIT_ID,
        "credit",
        CREDIT_CENTS,
        destination_id=BANK_ACCOUNT,
        bank_account_id=BANK_ACCOUNT,
        **facts,
    )


def _reversal(**facts: Any) -> Transfer:
    return _transfer(
        REVERSAL_ID,
        "reversal",
        REVERSAL_CENTS,
        source_id=BANK_ACCOUNT,
        parent_id=CREDIT_ID,
        bank_account_id=BANK_ACCOUNT,
        **facts,
    )


def _snapshot(transfers: list[Transfer], lines: dict[str, Lines]) -> Snapshot:
    """A snapshot whose accounts hold exactly what the given lines add up to."""
    totals: dict[str, int] = {}
    for per_transfer in lines.values():
        for account_id, cents in per_transfer.items():
            totals[account_id] = totals.get(account_id, 0) + cents
    accounts = [{"id": a, "kind": "test", "lines_cents": cents} for a, cents in totals.items()]
    return Snapshot({t.id: t for t in transfers}, lines, {PAYABLE}, accounts)


def _returned_credit_reversed_first() -> list[Transfer]:
    """A credit reversed in part on day 2, then returned whole by the bank on day 3."""
    credit = _bank_credit(status="failed", succeeded_at=DAY_1, failed_at=DAY_1 + timedelta(days=2))
    reversal = _reversal(status="succeeded", succeeded_at=DAY_1 + timedelta(days=1))
    return [credit, reversal]


def test_a_debit_moves_money_from_the_card_network_into_escrow_once_it_succeeds() -> None:
    debit = _transfer("WD0000000000000001", "debit", 500, status="succeeded")
    snapshot = _snapshot([debit], {})
    assert expected_lines(debit, snapshot, {}) == {NETWORK: -500, ORDER: 500}
    assert expected_lines(replace(debit, status="pending"), snapshot, {}) == {}


SHORTFALL = f"{MP}:shortfall"


def test_an_ach_debit_moves_money_from_the_bank_into_escrow_once_the_rail_settles_it() -> None:
    debit = _transfer("WD0000000000000002", "debit", 500, bank_account_id=BANK_ACCOUNT)
    snapshot = _snapshot([debit], {})
    assert expected_lines(debit, snapshot, {}) == {}
    settled = replace(debit, status="succeeded", succeeded_at=DAY_1)
    assert expected_lines(settled, snapshot, {}) == {SETTLED: -500, ORDER: 500}
    failed_at_once = replace(debit, status="failed", failed_at=DAY_1)
    assert expected_lines(failed_at_once, snapshot, {}) == {}


def test_an_ach_debit_returned_late_leaves_in_escrow_only_what_the_shortfall_mirrors() -> None:
    returned = _transfer(
        "WD0000000000000002",
        "debit",
        500,
        bank_account_id=BANK_ACCOUNT,
        status="failed",
        succeeded_at=DAY_1,
        failed_at=DAY_1 + timedelta(days=2),
    )
    snapshot = _snapshot([returned], {})
    assert expected_lines(returned, snapshot, {}) == {}  # The escrow gave all of it back.
    short = {ORDER: 300, SHORTFALL: -300}  # 300 had been paid out: the marketplace is out.
    assert expected_lines(returned, snapshot, short) == short
    beyond = {ORDER: 600, SHORTFALL: -600}  # More than the debit: impossible, a mismatch.
    assert expected_lines(returned, snapshot, beyond) != beyond


def test_a_disputed_card_debit_was_charged_back_out_of_its_escrow() -> None:
    disputed = _transfer(
        "WD0000000000000003",
        "debit",
        500,
        status="succeeded",
        succeeded_at=DAY_1,
        dispute_id="DT0000000000000001",
    )
    snapshot = _snapshot([disputed], {})
    assert expected_lines(disputed, snapshot, {}) == {}


def test_a_credit_to_a_payable_account_leaves_escrow_at_once() -> None:
    credit = _transfer(CREDIT_ID, "credit", CREDIT_CENTS, destination_id=PAYABLE)
    snapshot = _snapshot([credit], {})
    assert expected_lines(credit, snapshot, {}) == {ORDER: -CREDIT_CENTS, PAYABLE: CREDIT_CENTS}


def test_a_credit_in_flight_then_settled_then_reversed_is_clean() -> None:
    credit = _bank_credit(status="succeeded", succeeded_at=DAY_1)
    reversal = _reversal(status="succeeded", succeeded_at=DAY_1 + timedelta(days=1))
    lines = {
        CREDIT_ID: {ORDER: -CREDIT_CENTS, SETTLED: CREDIT_CENTS},
        REVERSAL_ID: {SETTLED: -REVERSAL_CENTS, ORDER: REVERSAL_CENTS},
    }
    assert check(_snapshot([credit, reversal], lines)) == []
    pending = _bank_credit()
    in_flight = {CREDIT_ID: {ORDER: -CREDIT_CENTS, IN_FLIGHT: CREDIT_CENTS}}
    assert check(_snapshot([pending], in_flight)) == []


def test_a_returned_credit_restores_only_what_its_reversals_did_not_pull_back() -> None:
    credit, reversal = _returned_credit_reversed_first()
    lines = {
        CREDIT_ID: {ORDER: -REVERSAL_CENTS, SETTLED: REVERSAL_CENTS},
        REVERSAL_ID: {SETTLED: -REVERSAL_CENTS, ORDER: REVERSAL_CENTS},
    }
    snapshot = _snapshot([credit, reversal], lines)
    assert expected_lines(credit, snapshot, lines[CREDIT_ID]) == lines[CREDIT_ID]
    assert check(snapshot) == []


def test_a_credit_family_that_gives_the_escrow_back_twice_is_reported() -> None:
    credit, reversal = _returned_credit_reversed_first()
    # The bug the audit exists for: the return restored the whole credit to the escrow
    # although the reversal had already pulled part of it back.
    lines = {
        CREDIT_ID: {},
        REVERSAL_ID: {SETTLED: -REVERSAL_CENTS, ORDER: REVERSAL_CENTS},
    }
    found = check(_snapshot([credit, reversal], lines))
    twice = [line for line in found if line.startswith("money counted twice")]
    assert len(twice) == 1, found
    assert CREDIT_ID in twice[0] and f"moved {REVERSAL_CENTS} cents, not 0" in twice[0]
    assert any(line.startswith("transfer differs from its history") for line in found)


def test_a_reversal_that_succeeds_after_its_credit_was_returned_is_reported() -> None:
    credit = _bank_credit(status="failed", succeeded_at=DAY_1, failed_at=DAY_1)
    reversal = _reversal(status="succeeded", succeeded_at=DAY_1 + timedelta(days=1))
    snapshot = _snapshot([credit, reversal], {})
    lines = {t.id: expected_lines(t, snapshot, {}) for t in (credit, reversal)}
    found = check(_snapshot([credit, reversal], lines))
    assert any(f"reversals ['{REVERSAL_ID}'] succeeded after" in line for line in found), found


def test_an_account_that_drifted_from_its_transfers_is_reported() -> None:
    credit = _bank_credit(status="succeeded", succeeded_at=DAY_1)
    lines = {CREDIT_ID: {ORDER: -CREDIT_CENTS, SETTLED: CREDIT_CENTS}}
    snapshot = _snapshot([credit], lines)
    snapshot.accounts = [
        {**account, "lines_cents": account["lines_cents"] + 1}
        if account["id"] == ORDER
        else account
        for account in snapshot.accounts
    ]
    found = check(snapshot)
    assert found == [
        f"account differs from its transfers: test {ORDER} holds {-CREDIT_CENTS + 1} cents, "
        f"its transfers imply {-CREDIT_CENTS}"
    ]
