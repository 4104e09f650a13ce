"""In-memory entries keyed by the caller's id, with idempotent submission.

Sized for a million entries: `Entry` uses `__slots__` (no per-instance dict), trace
numbers are kept as their 7-digit sequence and formatted on output, and low-cardinality
strings (routing numbers, notify URLs) are interned so that a million entries share one
copy. Submission and lookup are single dict operations: no scan grows with the store.
"""

from __future__ import annotations

import sys
from typing import Any

from rails.clock import iso_from_ms
from rails.codes import RETURN_REASONS
from rails.models import EntryRequest

PENDING = "pending"
SETTLED = "settled"
RETURNED = "returned"
# The allowed status changes. A returned entry is final; a settled one may still be
# returned (a late return), which is exactly what NACHA permits within its windows.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({SETTLED, RETURNED}),
    SETTLED: frozenset({RETURNED}),
    RETURNED: frozenset(),
}

# The rail acts as ODFI under Increase's sandbox routing number ("First Bank of the US"),
# which belongs to no real bank. A trace number is its first 8 digits + a 7-digit sequence.
ODFI_ROUTING_NUMBER = "101050001"
TRACE_SEQUENCE_MAX = 9_999_999  # Seven digits: the NACHA trace-number layout allows no more.
ENTRIES_MAX = TRACE_SEQUENCE_MAX  # Every entry needs its own trace number.


class Conflict(Exception):
    """An entry with this id exists with a different body."""


class StoreFull(Exception):
    """The trace-number sequence is exhausted; restart the rail to start afresh."""


class Entry:
    """One ACH entry. Mutable only through the transition methods, which assert the
    allowed-transitions table."""

    __slots__ = (
        "account_number",
        "amount_cents",
        "corrected_data",
        "correction_code",
        "id",
        "kind",
        "name",
        "notices",
        "notify_url",
        "plan",
        "return_code",
        "returned_at_ms",
        "routing_number",
        "settled_at_ms",
        "status",
        "submitted_at_ms",
        "trace_sequence",
    )

    def __init__(self, request: EntryRequest, trace_sequence: int, now_ms: int) -> None:
        self.id = request.id
        self.kind = sys.intern(request.kind)
        self.routing_number = sys.intern(request.routing_number)
        self.account_number = request.account_number
        self.name = request.name
        self.amount_cents = request.amount_cents
        self.notify_url = None if request.notify_url is None else sys.intern(request.notify_url)
        self.trace_sequence = trace_sequence
        self.status = PENDING
        self.return_code: str | None = None
        self.correction_code: str | None = None
        self.corrected_data: str | None = None
        self.submitted_at_ms = now_ms
        self.settled_at_ms: int | None = None
        self.returned_at_ms: int | None = None
        # Bumped when a simulation overrides the rule's outcome: scheduled steps carry the
        # plan they belong to, and steps of an older plan are skipped when they fall due.
        self.plan = 0
        # Notifications sent so far; numbers the next notification id.
        self.notices = 0

    def same_body(self, request: EntryRequest) -> bool:
        return (
            self.kind == request.kind
            and self.routing_number == request.routing_number
            and self.account_number == request.account_number
            and self.name == request.name
            and self.amount_cents == request.amount_cents
            and self.notify_url == request.notify_url
        )

    def _move(self, status: str) -> None:
        assert status in TRANSITIONS[self.status], (self.status, status)
        self.status = status

    def settle(self, at_ms: int) -> None:
        self._move(SETTLED)
        self.settled_at_ms = at_ms

    def return_(self, code: str, at_ms: int) -> None:
        assert code in RETURN_REASONS, code
        self._move(RETURNED)
        self.return_code = code
        self.returned_at_ms = at_ms
        assert self.settled_at_ms is None or self.settled_at_ms <= at_ms

    def correct(self, code: str, corrected_data: str) -> None:
        assert self.status != RETURNED and self.correction_code is None
        self.correction_code = code
        self.corrected_data = corrected_data


class Store:
    def __init__(self, odfi_routing_number: str = ODFI_ROUTING_NUMBER) -> None:
        assert len(odfi_routing_number) == 9 and odfi_routing_number.isdigit()
        self._trace_prefix = odfi_routing_number[:8]
        self._entries: dict[str, Entry] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def existing(self, request: EntryRequest) -> Entry | None:
        """The stored entry for a resubmitted id, or None for a new id. A resubmission
        must carry the same body: an idempotency key is never reused for other data."""
        entry = self._entries.get(request.id)
        if entry is not None and not entry.same_body(request):
            raise Conflict(f"entry {request.id} exists with a different body")
        return entry

    def create(self, request: EntryRequest, now_ms: int) -> Entry:
        """Store a new entry under the next trace number."""
        assert request.id not in self._entries, request.id
        if self._sequence >= TRACE_SEQUENCE_MAX:
            raise StoreFull("trace-number sequence exhausted")
        self._sequence += 1
        entry = Entry(request, self._sequence, now_ms)
        self._entries[request.id] = entry
        assert len(self._entries) == self._sequence
        return entry

    def trace_number(self, entry: Entry) -> str:
        return f"{self._trace_prefix}{entry.trace_sequence:07d}"

    def render(self, entry: Entry) -> dict[str, Any]:
        """The entry JSON of the HTTP contract, timestamps in simulated time."""
        code = entry.return_code
        return {
            "id": entry.id,
            "kind": entry.kind,
            "routing_number": entry.routing_number,
            "account_number": entry.account_number,
            "name": entry.name,
            "amount_cents": entry.amount_cents,
            "trace_number": self.trace_number(entry),
            "status": entry.status,
            "return_code": code,
            "return_reason": None if code is None else RETURN_REASONS[code],
            "correction_code": entry.correction_code,
            "corrected_data": entry.corrected_data,
            "submitted_at": iso_from_ms(entry.submitted_at_ms),
            "settled_at": _iso_or_none(entry.settled_at_ms),
            "returned_at": _iso_or_none(entry.returned_at_ms),
        }


def _iso_or_none(ms: int | None) -> str | None:
    return None if ms is None else iso_from_ms(ms)
