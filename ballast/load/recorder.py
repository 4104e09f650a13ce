"""What a run records: each transfer's timings, HTTP status and outcome, and the outcomes
that arrive (as notifications or callbacks) matched to the transfers they belong to.

Times are seconds on one clock (monotonic in a local run, wall time under Locust, where
workers on several processes report them). A transfer's latencies count from its
*scheduled* time: in the open model that is when it was due, not when it was sent."""

from __future__ import annotations

import asyncio
import math
import time
from array import array

from ballast.load.latency import LiveWindow

# Outcome codes in Recorder.outcome.
PENDING, SUCCEEDED, RETURNED, ERROR, LATE_RETURNED, CORRECTED, COMPLETED = range(7)
OUTCOME_NAMES = {
    SUCCEEDED: "succeeded",
    RETURNED: "returned",
    LATE_RETURNED: "late_returned",
    CORRECTED: "corrected",
    COMPLETED: "completed",
    PENDING: "pending",
    ERROR: "error",
}
# A status code for a request that got no HTTP answer (refused connection, timeout).
STATUS_NO_ANSWER = 0


class Recorder:
    """Per-transfer records in flat arrays (NaN when not reached), so a million transfers
    cost ~50 MB rather than a million objects."""

    def __init__(self) -> None:
        self.scheduled = array("d")
        self.sent = array("d")
        self.answered = array("d")
        self.finished = array("d")  # The first outcome (a later return does not move it).
        self.status = array("H")
        self.outcome = bytearray()
        self.step = bytearray()
        # 1 while a transfer awaits a second outcome (a late return, a correction).
        self.follow_up = bytearray()
        self.follow_ups_due = 0
        self.accepted_count = 0
        self.errors = 0
        self.outcomes = 0
        self.changed = asyncio.Event()
        self.live = LiveWindow()

    def __len__(self) -> int:
        return len(self.scheduled)

    def start(
        self, scheduled_s: float, sent_s: float, step: int = 0, *, follow_up: bool = False
    ) -> int:
        self.scheduled.append(scheduled_s)
        self.sent.append(sent_s)
        self.answered.append(math.nan)
        self.finished.append(math.nan)
        self.status.append(STATUS_NO_ANSWER)
        self.outcome.append(PENDING)
        self.step.append(step)
        self.follow_up.append(follow_up)
        return len(self.scheduled) - 1

    def accept(self, index: int, at_s: float, status: int, *, completed: bool = False) -> None:
        """The target took it; `completed` when the answer is the outcome (synchronous)."""
        self._answer(index, at_s, status, accepted=True)
        self.accepted_count += 1
        self.follow_ups_due += self.follow_up[index]
        if completed:
            self.outcome[index] = COMPLETED
            self.outcomes += 1
            self.changed.set()

    def fail(self, index: int, at_s: float, status: int) -> None:
        self._answer(index, at_s, status, accepted=False)
        self.outcome[index] = ERROR
        self.errors += 1
        self.changed.set()

    def _answer(self, index: int, at_s: float, status: int, *, accepted: bool) -> None:
        assert math.isnan(self.answered[index]), "answered twice"
        self.answered[index] = at_s
        self.status[index] = status
        self.live.answered(time.monotonic(), (at_s - self.scheduled[index]) * 1000, accepted)

    def finish(self, index: int, outcome: int, at_s: float) -> None:
        """Record an outcome. A return after success is a late return; a correction (NOC)
        marks a settled transfer; the end-to-end time stays that of the first outcome."""
        assert outcome in (SUCCEEDED, RETURNED, CORRECTED)
        current = self.outcome[index]
        if current in (ERROR, COMPLETED):
            return
        if current == PENDING:
            self.outcomes += 1
            self.outcome[index] = outcome
            self.finished[index] = at_s
        elif outcome == RETURNED and current in (SUCCEEDED, CORRECTED):
            self.outcome[index] = LATE_RETURNED
            self._followed_up(index)
        elif outcome == CORRECTED and current == SUCCEEDED:
            self.outcome[index] = CORRECTED
            self._followed_up(index)
        self.changed.set()

    def _followed_up(self, index: int) -> None:
        if self.follow_up[index]:
            self.follow_up[index] = 0
            self.follow_ups_due -= 1
            assert self.follow_ups_due >= 0

    @property
    def settled(self) -> bool:
        """Every accepted transfer has its outcome, and every awaited late one too."""
        return self.outcomes >= self.accepted_count and self.follow_ups_due == 0


class Outcomes:
    """Maps incoming outcomes to transfers. An outcome may arrive before the POST that
    created its transfer has answered (the pipeline is fast): it waits here until then."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._index_of: dict[str, int] = {}
        self._early: dict[str, list[tuple[int, float]]] = {}
        self._seen: set[str] = set()
        self.duplicates = 0
        self.rejected = 0

    def known(self, transfer_id: str, index: int) -> None:
        self._index_of[transfer_id] = index
        for early in self._early.pop(transfer_id, []):
            self._recorder.finish(index, *early)

    def deliver(self, message_id: str, transfer_id: str, outcome: int, at_s: float) -> None:
        if message_id in self._seen:
            self.duplicates += 1
            return
        self._seen.add(message_id)
        index = self._index_of.get(transfer_id)
        if index is None:
            self._early.setdefault(transfer_id, []).append((outcome, at_s))
        else:
            self._recorder.finish(index, outcome, at_s)
