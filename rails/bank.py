"""The receiving bank's behaviour: accepts entries, plans their outcomes from the rules,
applies outcomes when the scheduler fires them or a simulation forces them, queues a
notification for every outcome, and (with a files directory) sends and receives NACHA
files at every window cut-off.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

from rails.clock import BankingClock, add_banking_days, iso_from_ms
from rails.codes import CORRECTION_REASONS, RETURN_REASONS
from rails.files import FileDesk
from rails.models import EntryRequest
from rails.notifier import Notice, Notifier
from rails.rules import RuleBook, Step
from rails.scheduler import Scheduler, SchedulerFull
from rails.store import PENDING, RETURNED, SETTLED, Entry, Store
from rails.windows import Calendar

# The scheduler id of the next file cut-off; entries use their trace sequence, from 1.
CUTOFF_ITEM = 0
# With day_ms = 0 every cut-off falls due at once; files then go out at most once per this
# much wall time, so that a load test makes a file a second rather than one per scheduler
# pass (thousands of ten-entry files).
INSTANT_FILE_INTERVAL_S = 1.0


class InvalidOutcome(Exception):
    """The forced outcome is not allowed in the entry's current state."""


class Bank:
    def __init__(
        self,
        *,
        clock: BankingClock,
        rules: RuleBook,
        store: Store,
        notifier: Notifier,
        calendar: Calendar | None = None,
        nacha_dir: Path | None = None,
    ) -> None:
        self.clock = clock
        self.rules = rules  # Replaced whole by PUT /rules; read once per submission.
        self.store = store
        self.notifier = notifier
        self.calendar = Calendar() if calendar is None else calendar
        self.scheduler = Scheduler(clock, self._fire)
        # Entries live in memory, so trace numbers start again at 1 after a restart.
        # Receivers dedupe notifications by id for good; this per-boot token keeps a new
        # boot's ids (and file names) from colliding with an old boot's (hex and dashes:
        # no `.`, as the Standard Webhooks spec asks of message ids).
        self._boot = secrets.token_hex(4)
        self.files = None
        if nacha_dir is not None:
            self.files = FileDesk(
                nacha_dir,
                calendar=self.calendar,
                trace_number=store.trace_number,
                odfi_routing=store.odfi_routing_number,
                boot=self._boot,
            )
        self._cutoff_due_ms: int | None = None
        # Submissions of an id already stored (a caller's retry), answered with the stored
        # entry: proof, for fault tests, that a resubmission never makes a second entry.
        self.resubmissions = 0
        self._last_flush_wall_s: float | None = None
        self._instant_timer: asyncio.TimerHandle | None = None
        self._replan(store.restored)

    def _replan(self, entries: list[Entry]) -> None:
        """Entries a restarted rail read back from its journal get their outcome planned
        again by the rules, from their first submission: the journal keeps submissions, not
        outcomes, and a notification sent again is harmless (receivers apply it once)."""
        for entry in entries:
            entry.steps = self.rules.decide(
                entry_id=entry.id,
                kind=entry.kind,
                routing_number=entry.routing_number,
                account_number=entry.account_number,
                amount_cents=entry.amount_cents,
                name=entry.name,
            )
            self._schedule_next(entry, entry.submitted_at_ms, first=True)

    def close(self) -> None:
        """Stop the timer instant mode may hold files back with."""
        if self._instant_timer is not None:
            self._instant_timer.cancel()
        self.store.close()

    def submit(self, request: EntryRequest) -> tuple[Entry, bool]:
        """Store the entry (idempotently) and, when new, schedule its rule's outcome.
        Returns the entry and whether it was created now; raises store.Conflict."""
        existing = self.store.existing(request)
        if existing is not None:
            self.resubmissions += 1
            return existing, False
        steps = self.rules.decide(
            entry_id=request.id,
            kind=request.kind,
            routing_number=request.routing_number,
            account_number=request.account_number,
            amount_cents=request.amount_cents,
            name=request.name,
        )
        # Refuse before storing, so that no entry is ever stored without its outcome.
        if not self.scheduler.has_room(len(steps[:1])):
            raise SchedulerFull("too many outcomes scheduled; retry later")
        now_ms = self.clock.now_ms()
        entry = self.store.create(request, now_ms, steps)
        self._schedule_next(entry, now_ms, first=True)
        if self.files is not None:
            self.files.sent(entry)
            self._ensure_cutoff(now_ms)
        return entry, True

    def _schedule_next(self, entry: Entry, from_ms: int, *, first: bool) -> None:
        """Schedule the entry's next step: the first counts from its settlement window,
        later ones in banking days from the previous step's due time."""
        step = entry.pending_step()
        if step is None:
            return
        if first:
            due_ms = self.calendar.first_due_ms(
                from_ms, entry.amount_cents, step.after_banking_days
            )
        else:
            due_ms = add_banking_days(from_ms, step.after_banking_days)
        self.scheduler.schedule(due_ms + step.delay_ms, entry.trace_sequence)

    def _ensure_cutoff(self, from_ms: int) -> None:
        """Make sure a file cut-off is scheduled for what is waiting to be sent."""
        if self.files is None or self._cutoff_due_ms is not None:
            return
        due_ms = self.calendar.next_cutoff_ms(from_ms)
        try:
            self.scheduler.schedule(due_ms, CUTOFF_ITEM)
        except SchedulerFull:
            return  # The next outcome or submission tries again.
        self._cutoff_due_ms = due_ms

    def _fire(self, item_id: int, due_ms: int) -> None:
        # Stamp the due time when the clock has passed it (frozen, then advanced), and the
        # present otherwise (day_ms == 0 fires before the due time is reached).
        at_ms = min(due_ms, self.clock.now_ms())
        if item_id == CUTOFF_ITEM:
            self._cutoff(at_ms)
            return
        entry = self.store.by_sequence(item_id)
        step = entry.pending_step()
        if step is None:
            return  # A simulation replaced the rule's outcome since.
        entry.next_step += 1
        self._apply(entry, step, at_ms)
        self._schedule_next(entry, due_ms, first=False)

    def _apply(self, entry: Entry, step: Step, at_ms: int) -> None:
        if step.event == "settle":
            assert entry.status == PENDING, entry.status
            entry.settle(at_ms)
            self._notify(entry, "entry.settled", at_ms)
        elif step.event == "return":
            assert step.code is not None and entry.status != RETURNED
            entry.return_(step.code, at_ms)
            self._returned(entry, at_ms)
        else:
            assert step.event == "correct" and step.code and step.corrected_data
            # A correction already forced by a simulation wins over the rule's.
            if entry.correction_code is None and entry.status != RETURNED:
                entry.correct(step.code, step.corrected_data)
                self._corrected(entry, at_ms)

    def _cutoff(self, at_ms: int) -> None:
        assert self.files is not None
        self._cutoff_due_ms = None
        if self._hold_instant_files(at_ms):
            return
        self._last_flush_wall_s = time.monotonic()
        self.files.flush(at_ms)
        if self.files.has_pending():
            self._ensure_cutoff(at_ms + 1)

    def _hold_instant_files(self, at_ms: int) -> bool:
        """In instant mode, postpone a flush that comes too soon after the previous one
        (by a wall-clock timer: the simulated clock makes everything due at once)."""
        if not self.clock.instant or self._last_flush_wall_s is None:
            return False
        wait_s = self._last_flush_wall_s + INSTANT_FILE_INTERVAL_S - time.monotonic()
        if wait_s <= 0:
            return False
        self._cutoff_due_ms = at_ms  # Counts as scheduled: nothing else schedules one.
        loop = asyncio.get_running_loop()
        self._instant_timer = loop.call_later(wait_s, self._release_instant_files)
        return True

    def _release_instant_files(self) -> None:
        self._instant_timer = None
        self._cutoff_due_ms = None
        self._ensure_cutoff(self.clock.now_ms())

    def force_settle(self, entry: Entry) -> None:
        if entry.status != PENDING:
            raise InvalidOutcome(f"entry {entry.id} is already {entry.status}")
        entry.cancel_steps()  # The rule's scheduled steps no longer apply.
        now_ms = self.clock.now_ms()
        entry.settle(now_ms)
        self._notify(entry, "entry.settled", now_ms)

    def force_return(self, entry: Entry, code: str) -> None:
        if code not in RETURN_REASONS:
            raise ValueError(f"unknown return code {code!r}")
        if entry.status == RETURNED:
            raise InvalidOutcome(f"entry {entry.id} is already returned")
        assert entry.status in (PENDING, SETTLED)
        entry.cancel_steps()
        now_ms = self.clock.now_ms()
        entry.return_(code, now_ms)
        self._returned(entry, now_ms)

    def force_correct(self, entry: Entry, code: str, corrected_data: str) -> None:
        """A NOC leaves the outcome alone, so the rule's plan stays in force."""
        if code not in CORRECTION_REASONS:
            raise ValueError(f"unknown correction code {code!r}")
        if entry.status == RETURNED:
            raise InvalidOutcome(f"entry {entry.id} is returned")
        if entry.correction_code is not None:
            raise InvalidOutcome(f"entry {entry.id} is already corrected")
        entry.correct(code, corrected_data)
        self._corrected(entry, self.clock.now_ms())

    def _returned(self, entry: Entry, at_ms: int) -> None:
        self._notify(entry, "entry.returned", at_ms)
        if self.files is not None:
            self.files.returned(entry)
            self._ensure_cutoff(at_ms)

    def _corrected(self, entry: Entry, at_ms: int) -> None:
        self._notify(entry, "entry.corrected", at_ms)
        if self.files is not None:
            self.files.returned(entry, correction=True)
            self._ensure_cutoff(at_ms)

    def _notify(self, entry: Entry, notification_type: str, at_ms: int) -> None:
        if entry.notify_url is None:
            return
        trace_number = self.store.trace_number(entry)
        message_id = f"NTF-{self._boot}-{trace_number}-{entry.outcome_count}"
        body = {
            "id": message_id,
            "type": notification_type,
            "entry": self.store.render(entry),
            "occurred_at": iso_from_ms(at_ms),
        }
        encoded = json.dumps(body, separators=(",", ":")).encode()
        self.notifier.enqueue(Notice(entry.id, entry.notify_url, message_id, encoded))
