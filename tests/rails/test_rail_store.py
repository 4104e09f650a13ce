"""Entries: trace numbers, idempotency, and a compact in-memory shape."""

from __future__ import annotations

import pytest

from rails.models import EntryRequest
from rails.store import Conflict, Store


def request(**fields: object) -> EntryRequest:
    body: dict[str, object] = {
        "id": "CR-1",
        "kind": "credit",
        "routing_number": "021000021",
        "account_number": "9900000002",
        "amount_cents": 100,
    }
    body.update(fields)
    return EntryRequest.model_validate(body)


def test_trace_numbers_are_odfi_prefix_and_seven_digit_sequence() -> None:
    store = Store()
    first = store.create(request(id="a"), 0)
    second = store.create(request(id="b"), 0)
    assert store.trace_number(first) == "101050000000001"
    assert store.trace_number(second) == "101050000000002"


def test_resubmitted_body_finds_the_stored_entry() -> None:
    store = Store()
    entry = store.create(request(), 0)
    assert store.existing(request()) is entry
    with pytest.raises(Conflict):
        store.existing(request(amount_cents=101))


def test_entries_have_no_per_instance_dict() -> None:
    entry = Store().create(request(), 0)
    assert not hasattr(entry, "__dict__")
