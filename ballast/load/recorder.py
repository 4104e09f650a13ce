"""What a run records: each transfer's timings and outcome, and the outcomes that arrive
(as notifications or callbacks) matched to the transfers they belong to."""

from __future__ import annotations

import asyncio
import math
import time
from array import array

# Outcome codes in Recorder.outcome.
PENDING, SUCCEEDED, RETURNED, ERROR = 0, 1, 2, 3
OUTCOME_NAMES = {SUCCEEDED: "succeeded", RETURNED: "returned", PENDING: "pending", ERROR: "error"}


class Recorder:
    """Per-transfer timings in flat arrays (monotonic seconds; NaN when not reached), so a
    million transfers cost ~30 MB rather than a million objects."""

    def __init__(self) -> None:
        self.started = array("d")
        self.accepted = array("d")
        self.finished = array("d")
        self.outcome = bytearray()
        self.accepted_count = 0
        self.errors = 0
        self.outcomes = 0
        self.changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self.started)

    def start(self, at_s: float) -> int:
        self.started.append(at_s)
        self.accepted.append(math.nan)
        self.finished.append(math.nan)
        self.outcome.append(PENDING)
        return len(self.started) - 1

    def accept(self, index: int, at_s: float) -> None:
        self.accepted[index] = at_s
        self.accepted_count += 1

    def fail(self, index: int) -> None:
        self.outcome[index] = ERROR
        self.errors += 1
        self.changed.set()

    def finish(self, index: int, outcome: int, at_s: float) -> None:
        """Record an outcome; a later one (a late return after success) replaces it."""
        assert outcome in (SUCCEEDED, RETURNED)
        if self.outcome[index] == ERROR:
            return
        if self.outcome[index] == PENDING:
            self.outcomes += 1
        self.outcome[index] = outcome
        self.finished[index] = at_s
        self.changed.set()


class Outcomes:
    """Maps incoming outcomes to transfers. An outcome may arrive before the POST that
    created its transfer has answered (the pipeline is fast): it waits here until then."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._index_of: dict[str, int] = {}
        self._early: dict[str, tuple[int, float]] = {}
        self._seen: set[str] = set()
        self.duplicates = 0
        self.rejected = 0

    def known(self, transfer_id: str, index: int) -> None:
        self._index_of[transfer_id] = index
        early = self._early.pop(transfer_id, None)
        if early is not None:
            self._recorder.finish(index, *early)

    def deliver(self, message_id: str, transfer_id: str, outcome: int) -> None:
        if message_id in self._seen:
            self.duplicates += 1
            return
        self._seen.add(message_id)
        at_s = time.monotonic()
        index = self._index_of.get(transfer_id)
        if index is None:
            self._early[transfer_id] = (outcome, at_s)
        else:
            self._recorder.finish(index, outcome, at_s)
