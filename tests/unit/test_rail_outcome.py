"""A rail notification becomes a `RailOutcome` where it enters, or is refused there."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.records import MalformedNotification, RailOutcome


def _notification(**entry: Any) -> dict[str, Any]:
    return {"id": "n1", "type": "entry.returned", "entry": {"id": "CR1"} | entry}


def test_a_notification_keeps_what_the_ledger_reads_and_the_body_as_received() -> None:
    body = _notification(kind="credit", amount_cents=900, trace_number="T1")
    outcome = RailOutcome.from_notification(body)
    assert (outcome.notification_id, outcome.type, outcome.entry_id) == (
        "n1",
        "entry.returned",
        "CR1",
    )
    assert (outcome.entry_kind, outcome.amount_cents) == ("credit", 900)
    assert outcome.failure == ("R00", "Returned")  # The defaults when the bank gave none.
    assert outcome.notification == body


def test_a_return_keeps_the_banks_code_and_reason() -> None:
    outcome = RailOutcome.from_notification(
        _notification(return_code="R01", return_reason="Insufficient funds")
    )
    assert outcome.failure == ("R01", "Insufficient funds")


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "entry.settled",
        {"type": "entry.settled", "entry": {"id": "CR1"}},
        {"id": "", "type": "entry.settled", "entry": {"id": "CR1"}},
        {"id": 1, "type": "entry.settled", "entry": {"id": "CR1"}},
        {"id": "n1", "entry": {"id": "CR1"}},
        {"id": "n1", "type": "entry.settled"},
        {"id": "n1", "type": "entry.settled", "entry": "CR1"},
        {"id": "n1", "type": "entry.settled", "entry": {}},
        _notification(amount_cents="900"),
        _notification(amount_cents=True),
        _notification(kind=3),
        _notification(return_code=1),
        _notification(corrected_data=["x"]),
    ],
)
def test_anything_else_is_malformed(body: Any) -> None:
    with pytest.raises(MalformedNotification):
        RailOutcome.from_notification(body)
