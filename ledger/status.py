"""The status machine shared by every transfer (debits, credits, refunds, reversals,
settlements). PostgreSQL enforces the same table with the trigger
`transactions_guard_status`; code asserts it before every guarded UPDATE."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# succeeded -> failed is an ACH return that arrives days after settlement.
ALLOWED_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.SUCCEEDED, Status.FAILED}),
    Status.SUCCEEDED: frozenset({Status.FAILED}),
    Status.FAILED: frozenset(),
}


def assert_transition(current: Status, target: Status) -> None:
    assert target in ALLOWED_TRANSITIONS[current], f"illegal transition {current} -> {target}"


def sources_of(target: Status) -> list[str]:
    """Every status from which `target` may be reached: the guard of an UPDATE."""
    sources = [str(s) for s, targets in ALLOWED_TRANSITIONS.items() if target in targets]
    assert sources, f"{target} is reachable from nowhere"
    return sources
