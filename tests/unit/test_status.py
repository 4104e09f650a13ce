"""The transfer status machine (`ledger.status`): pending decides once, a success may
still be returned, a failure is final."""

from __future__ import annotations

import pytest

from ledger.status import ALLOWED_TRANSITIONS, Status, assert_transition, sources_of


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.PENDING, Status.SUCCEEDED),
        (Status.PENDING, Status.FAILED),
        (Status.SUCCEEDED, Status.FAILED),  # An ACH return after settlement.
    ],
)
def test_allowed_transitions_pass(current: Status, target: Status) -> None:
    assert_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.FAILED, Status.SUCCEEDED),
        (Status.FAILED, Status.PENDING),
        (Status.SUCCEEDED, Status.PENDING),
        (Status.PENDING, Status.PENDING),
        (Status.SUCCEEDED, Status.SUCCEEDED),
        (Status.FAILED, Status.FAILED),
    ],
)
def test_every_other_transition_is_a_bug(current: Status, target: Status) -> None:
    with pytest.raises(AssertionError, match="illegal transition"):
        assert_transition(current, target)


def test_the_guard_of_an_update_lists_exactly_the_statuses_it_may_come_from() -> None:
    assert sorted(sources_of(Status.FAILED)) == ["pending", "succeeded"]
    assert sources_of(Status.SUCCEEDED) == ["pending"]
    with pytest.raises(AssertionError, match="reachable from nowhere"):
        sources_of(Status.PENDING)


def test_statuses_are_their_wire_strings_and_every_one_has_a_row() -> None:
    assert [str(status) for status in Status] == ["pending", "succeeded", "failed"]
    assert set(ALLOWED_TRANSITIONS) == set(Status)
