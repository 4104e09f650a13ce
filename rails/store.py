"""In-memory entries keyed by the caller's id, with idempotent submission.

Sized for a million entries: `Entry` uses `__slots__` (no per-instance dict), trace
numbers are kept as their 7-digit sequence and formatted on output, and low-cardinality
strings (routing numbers, notify URLs) are interned so that a million entries share one
copy. Submission and lookup are single dict operations: no scan grows with the store.
The trace sequence doubles as the entry's scheduler id (`by_sequence`), so the scheduler
stores one 4-byte integer per pending outcome instead of a tuple of object references.

With a journal (the rail's data directory, `--nacha-dir`), every accepted entry is also
appended to a file, written before the submission is answered, and a restarted rail reads
it back: it still knows every entry it ever accepted, under the same trace number, so a
caller's resubmission by id stays idempotent across restarts and can never make a second
payment. Without a journal a restarted rail forgets, and its "no such entry" proves
nothing about entries accepted before it started (`journal_since` is None then): callers
must not take such an answer as leave to submit again (see workers/reconcile.py).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rails.clock import iso_from_ms
from rails.codes import RETURN_REASONS
from rails.models import EntryRequest

if TYPE_CHECKING:
    from rails.rules import Step

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


class _Details:
    """What only returned or corrected entries have: kept apart, so that the entries that
    simply settle (nearly all of them) do not pay four slots each for it."""

    __slots__ = ("corrected_data", "correction_code", "return_code", "returned_at_ms")

    def __init__(self) -> None:
        self.return_code: str | None = None
        self.returned_at_ms: int | None = None
        self.correction_code: str | None = None
        self.corrected_data: str | None = None


class Entry:
    """One ACH entry. Mutable only through the transition methods, which assert the
    allowed-transitions table."""

    __slots__ = (
        "account_number",
        "amount_cents",
        "details",
        "id",
        "kind",
        "name",
        "next_step",
        "notify_url",
        "routing_number",
        "settled_at_ms",
        "status",
        "steps",
        "submitted_at_ms",
        "trace_sequence",
    )

    def __init__(
        self, request: EntryRequest, trace_sequence: int, now_ms: int, steps: tuple[Step, ...]
    ) -> None:
        self.id = request.id
        self.kind = sys.intern(request.kind)
        self.routing_number = sys.intern(request.routing_number)
        self.account_number = request.account_number
        self.name = request.name
        self.amount_cents = request.amount_cents
        self.notify_url = None if request.notify_url is None else sys.intern(request.notify_url)
        self.trace_sequence = trace_sequence
        self.status = PENDING
        self.submitted_at_ms = now_ms
        self.settled_at_ms: int | None = None
        self.details: _Details | None = None
        # The rule's outcome (shared with every entry of the rule) and the index of the step
        # to fire next. At most one step is scheduled at a time; a simulation that overrides
        # the outcome empties `steps`, so the step still in the scheduler is skipped.
        self.steps = steps
        self.next_step = 0

    @property
    def return_code(self) -> str | None:
        return None if self.details is None else self.details.return_code

    @property
    def returned_at_ms(self) -> int | None:
        return None if self.details is None else self.details.returned_at_ms

    @property
    def correction_code(self) -> str | None:
        return None if self.details is None else self.details.correction_code

    @property
    def corrected_data(self) -> str | None:
        return None if self.details is None else self.details.corrected_data

    @property
    def outcome_count(self) -> int:
        """Outcomes so far (settled, returned, corrected: each happens at most once), which
        numbers the entry's notifications 1, 2, 3 in order."""
        returned = self.status == RETURNED
        corrected = self.correction_code is not None
        return (self.settled_at_ms is not None) + returned + corrected

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

    def _details(self) -> _Details:
        if self.details is None:
            self.details = _Details()
        return self.details

    def settle(self, at_ms: int) -> None:
        self._move(SETTLED)
        self.settled_at_ms = at_ms

    def return_(self, code: str, at_ms: int) -> None:
        assert code in RETURN_REASONS, code
        self._move(RETURNED)
        details = self._details()
        details.return_code = code
        details.returned_at_ms = at_ms
        assert self.settled_at_ms is None or self.settled_at_ms <= at_ms

    def pending_step(self) -> Step | None:
        """The rule's next step, or None when none is left (or a simulation cancelled it)."""
        return self.steps[self.next_step] if self.next_step < len(self.steps) else None

    def cancel_steps(self) -> None:
        self.steps = ()
        self.next_step = 0

    def correct(self, code: str, corrected_data: str) -> None:
        assert self.status != RETURNED and self.correction_code is None
        details = self._details()
        details.correction_code = code
        details.corrected_data = corrected_data


# The journal's first line: its format and since when it covers every accepted entry.
JOURNAL_FORMAT = 1
# The fields of an accepted entry the journal keeps: the request, its trace sequence and
# its submission time (simulated).
_JOURNALED_REQUEST_FIELDS = (
    "id",
    "kind",
    "routing_number",
    "account_number",
    "name",
    "amount_cents",
    "notify_url",
)


class Store:
    def __init__(
        self, odfi_routing_number: str = ODFI_ROUTING_NUMBER, journal_path: Path | None = None
    ) -> None:
        assert len(odfi_routing_number) == 9 and odfi_routing_number.isdigit()
        self.odfi_routing_number = odfi_routing_number
        self._trace_prefix = odfi_routing_number[:8]
        self._entries: dict[str, Entry] = {}
        # Entries in trace order: entry with sequence n is at index n - 1.
        self._by_sequence: list[Entry] = []
        self._sequence = 0
        # The last submission time, shared by the entries of the same millisecond: under
        # load many entries arrive per millisecond, and each int object costs 32 bytes.
        self._last_now_ms = -1
        # Entries read back from the journal at start: their outcomes are planned again by
        # the bank (rails/bank.py), since the journal keeps submissions, not outcomes.
        self.restored: list[Entry] = []
        self.journal_since: datetime | None = None
        self._journal: IO[str] | None = None
        if journal_path is not None:
            self._open_journal(journal_path)

    def _open_journal(self, path: Path) -> None:
        lines = path.read_text().splitlines() if path.exists() else []
        if lines:
            header = json.loads(lines[0])
            assert header.get("journal") == JOURNAL_FORMAT, header
            self.journal_since = datetime.fromisoformat(header["since"])
        for number, line in enumerate(lines[1:], start=2):
            try:
                record = json.loads(line)
            except ValueError:
                # Only the last line can be torn (a crash mid-write), and its submission
                # was never answered: the caller will submit it again. It is cut off, so
                # that the next line appended does not continue it.
                assert number == len(lines), f"{path}:{number} is not JSON"
                path.write_text("".join(kept + "\n" for kept in lines[: number - 1]))
                break
            request = EntryRequest(**{key: record[key] for key in _JOURNALED_REQUEST_FIELDS})
            entry = self._store(request, record["at_ms"], ())
            assert entry.trace_sequence == record["sequence"], (path, number)
            self.restored.append(entry)
        # Line-buffered: each accepted entry reaches the operating system before its
        # submission is answered, so a killed rail process loses none (a machine crash
        # could: the file is not fsync'd, a simulator's trade-off for throughput).
        self._journal = path.open("a", buffering=1, encoding="utf-8")
        if not lines:
            self.journal_since = datetime.now(UTC)
            header = {"journal": JOURNAL_FORMAT, "since": self.journal_since.isoformat()}
            self._journal.write(json.dumps(header) + "\n")

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, entry_id: str) -> Entry | None:
        return self._entries.get(entry_id)

    def by_sequence(self, trace_sequence: int) -> Entry:
        entry = self._by_sequence[trace_sequence - 1]
        assert entry.trace_sequence == trace_sequence
        return entry

    def existing(self, request: EntryRequest) -> Entry | None:
        """The stored entry for a resubmitted id, or None for a new id. A resubmission
        must carry the same body: an idempotency key is never reused for other data."""
        entry = self._entries.get(request.id)
        if entry is not None and not entry.same_body(request):
            raise Conflict(f"entry {request.id} exists with a different body")
        return entry

    def create(self, request: EntryRequest, now_ms: int, steps: tuple[Step, ...] = ()) -> Entry:
        """Store a new entry under the next trace number (journaled, when there is one)."""
        entry = self._store(request, now_ms, steps)
        if self._journal is not None:
            record: dict[str, Any] = {
                key: getattr(request, key) for key in _JOURNALED_REQUEST_FIELDS
            }
            record |= {"sequence": entry.trace_sequence, "at_ms": entry.submitted_at_ms}
            self._journal.write(json.dumps(record, separators=(",", ":")) + "\n")
        return entry

    def _store(self, request: EntryRequest, now_ms: int, steps: tuple[Step, ...]) -> Entry:
        assert request.id not in self._entries, request.id
        if self._sequence >= TRACE_SEQUENCE_MAX:
            raise StoreFull("trace-number sequence exhausted")
        self._sequence += 1
        if now_ms == self._last_now_ms:
            now_ms = self._last_now_ms
        self._last_now_ms = now_ms
        entry = Entry(request, self._sequence, now_ms, steps)
        self._entries[request.id] = entry
        self._by_sequence.append(entry)
        assert len(self._entries) == self._sequence == len(self._by_sequence)
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
