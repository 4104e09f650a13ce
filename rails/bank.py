"""The receiving bank's behaviour: accepts entries, plans their outcomes from the rules,
applies outcomes when the scheduler fires them or a simulation forces them, and queues
a notification for every outcome.
"""

from __future__ import annotations

import json
import secrets

from rails.clock import BankingClock, add_banking_days, iso_from_ms
from rails.codes import CORRECTION_REASONS, RETURN_REASONS
from rails.models import EntryRequest
from rails.notifier import Notice, Notifier
from rails.rules import RuleBook, Step
from rails.scheduler import Scheduler, SchedulerFull
from rails.store import PENDING, RETURNED, SETTLED, Entry, Store


class InvalidOutcome(Exception):
    """The forced outcome is not allowed in the entry's current state."""


class Bank:
    def __init__(
        self, *, clock: BankingClock, rules: RuleBook, store: Store, notifier: Notifier
    ) -> None:
        self.clock = clock
        self.rules = rules  # Replaced whole by PUT /rules; read once per submission.
        self.store = store
        self.notifier = notifier
        self.scheduler = Scheduler(clock, self._fire)
        # Entries live in memory, so trace numbers start again at 1 after a restart.
        # Receivers dedupe notifications by id for good; this per-boot token keeps a new
        # boot's ids from colliding with an old boot's (hex and dashes: no `.`, as the
        # Standard Webhooks spec asks of message ids).
        self._boot = secrets.token_hex(4)

    def submit(self, request: EntryRequest) -> tuple[Entry, bool]:
        """Store the entry (idempotently) and, when new, schedule its rule's outcome.
        Returns the entry and whether it was created now; raises store.Conflict."""
        existing = self.store.existing(request)
        if existing is not None:
            return existing, False
        steps = self.rules.decide(
            kind=request.kind,
            routing_number=request.routing_number,
            account_number=request.account_number,
            amount_cents=request.amount_cents,
            name=request.name,
        )
        # Refuse before storing, so that no entry is ever stored without its outcome.
        if not self.scheduler.has_room(len(steps)):
            raise SchedulerFull("too many outcomes scheduled; retry later")
        now_ms = self.clock.now_ms()
        entry = self.store.create(request, now_ms)
        due_ms = now_ms
        for step in steps:
            due_ms = add_banking_days(due_ms, step.after_banking_days)
            self.scheduler.schedule(due_ms, entry, entry.plan, step)
        return entry, True

    def _fire(self, entry: Entry, plan: int, step: Step, due_ms: int) -> None:
        """Apply a scheduled step, unless a simulation has replaced the plan since."""
        if plan != entry.plan:
            return
        # Stamp the due time when the clock has passed it (frozen, then advanced), and the
        # present otherwise (day_ms == 0 fires before the due time is reached).
        at_ms = min(due_ms, self.clock.now_ms())
        if step.event == "settle":
            assert entry.status == PENDING, entry.status
            entry.settle(at_ms)
            self._notify(entry, "entry.settled", at_ms)
        elif step.event == "return":
            assert step.code is not None and entry.status != RETURNED
            entry.return_(step.code, at_ms)
            self._notify(entry, "entry.returned", at_ms)
        else:
            assert step.event == "correct" and step.code and step.corrected_data
            # A correction already forced by a simulation wins over the rule's.
            if entry.correction_code is None and entry.status != RETURNED:
                entry.correct(step.code, step.corrected_data)
                self._notify(entry, "entry.corrected", at_ms)

    def force_settle(self, entry: Entry) -> None:
        if entry.status != PENDING:
            raise InvalidOutcome(f"entry {entry.id} is already {entry.status}")
        entry.plan += 1  # The rule's scheduled steps no longer apply.
        now_ms = self.clock.now_ms()
        entry.settle(now_ms)
        self._notify(entry, "entry.settled", now_ms)

    def force_return(self, entry: Entry, code: str) -> None:
        if code not in RETURN_REASONS:
            raise ValueError(f"unknown return code {code!r}")
        if entry.status == RETURNED:
            raise InvalidOutcome(f"entry {entry.id} is already returned")
        assert entry.status in (PENDING, SETTLED)
        entry.plan += 1
        now_ms = self.clock.now_ms()
        entry.return_(code, now_ms)
        self._notify(entry, "entry.returned", now_ms)

    def force_correct(self, entry: Entry, code: str, corrected_data: str) -> None:
        """A NOC leaves the outcome alone, so the rule's plan stays in force."""
        if code not in CORRECTION_REASONS:
            raise ValueError(f"unknown correction code {code!r}")
        if entry.status == RETURNED:
            raise InvalidOutcome(f"entry {entry.id} is returned")
        if entry.correction_code is not None:
            raise InvalidOutcome(f"entry {entry.id} is already corrected")
        entry.correct(code, corrected_data)
        self._notify(entry, "entry.corrected", self.clock.now_ms())

    def _notify(self, entry: Entry, notification_type: str, at_ms: int) -> None:
        if entry.notify_url is None:
            return
        entry.notices += 1
        trace_number = self.store.trace_number(entry)
        message_id = f"NTF-{self._boot}-{trace_number}-{entry.notices}"
        body = {
            "id": message_id,
            "type": notification_type,
            "entry": self.store.render(entry),
            "occurred_at": iso_from_ms(at_ms),
        }
        encoded = json.dumps(body, separators=(",", ":")).encode()
        self.notifier.enqueue(Notice(entry.id, entry.notify_url, message_id, encoded))
