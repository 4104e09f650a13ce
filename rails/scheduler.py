"""One scheduler for every pending outcome: a heap keyed by simulated due time.

A single background task sleeps until the earliest item falls due (in wall time, as the
clock converts it) and is woken early through an asyncio.Event when an earlier item is
pushed or the clock changes. One task per entry would cost ~1 KiB and a timer handle
each; a heap item is a 5-tuple pointing at shared objects (~150 bytes with its ints).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rails.clock import BankingClock
    from rails.rules import Step
    from rails.store import Entry

log = logging.getLogger(__name__)

# Two million items is ~300 MB of heap: room for the design's million entries even when
# every one of them carries a late return (two steps), while a runaway load generator is
# refused (HTTP 503) instead of exhausting the machine's memory.
SCHEDULED_MAX = 2_000_000
# Items fired before yielding to the event loop, so that HTTP requests are still served
# while a clock advance releases a million outcomes at once.
FIRE_BATCH = 1000
# The longest single sleep. Every change wakes the task anyway; this only bounds the harm
# of a wake-up that a future change forgets to send.
SLEEP_MAX_S = 60.0

# (entry, plan, step, due_ms): applies one outcome. Synchronous, so that a batch of
# outcomes is applied without interleaving with request handlers.
Fire = Callable[["Entry", int, "Step", int], None]
Item = tuple[int, int, "Entry", int, "Step"]  # (due_ms, sequence, entry, plan, step)


class SchedulerFull(Exception):
    """Too many outcomes are waiting; refuse new entries until some have fired."""


class Scheduler:
    def __init__(
        self, clock: BankingClock, fire: Fire, *, scheduled_max: int = SCHEDULED_MAX
    ) -> None:
        assert scheduled_max > 0
        self._clock = clock
        self._fire = fire
        self._scheduled_max = scheduled_max
        self._heap: list[Item] = []
        # Ties on due time fire in push order: a settlement before its same-day correction.
        self._sequence = itertools.count()
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._heap)

    def has_room(self, count: int) -> bool:
        return len(self._heap) + count <= self._scheduled_max

    def schedule(self, due_ms: int, entry: Entry, plan: int, step: Step) -> None:
        if len(self._heap) >= self._scheduled_max:
            raise SchedulerFull(f"{self._scheduled_max} outcomes already scheduled")
        earlier = not self._heap or due_ms < self._heap[0][0]
        heapq.heappush(self._heap, (due_ms, next(self._sequence), entry, plan, step))
        if earlier:
            self._wake.set()

    def wake(self) -> None:
        """Re-read the clock: call after any change of pace, freeze or advance."""
        self._wake.set()

    def fire_due(self, limit: int = FIRE_BATCH) -> int:
        """Fire up to `limit` due items in due order; returns how many fired."""
        assert limit > 0
        fired = 0
        heap = self._heap
        while fired < limit and heap and self._clock.is_due(heap[0][0]):
            due_ms, _, entry, plan, step = heapq.heappop(heap)
            fired += 1
            try:
                self._fire(entry, plan, step, due_ms)
            except Exception:
                # A bug in one outcome must not stop every later outcome from firing.
                log.exception("applying %s to entry %s failed", step.event, entry.id)
        return fired

    async def drain(self) -> int:
        """Fire everything due now, yielding to the event loop between batches."""
        total = 0
        while (fired := self.fire_due()) > 0:
            total += fired
            await asyncio.sleep(0)
        return total

    def _delay_s(self) -> float | None:
        if not self._heap:
            return None
        delay_s = self._clock.wall_delay_s(self._heap[0][0])
        return None if delay_s is None else min(delay_s, SLEEP_MAX_S)

    async def run(self) -> None:
        """The single background task; runs until cancelled."""
        while True:
            self._wake.clear()
            if self.fire_due() == FIRE_BATCH:
                await asyncio.sleep(0)  # More may be due: let requests in, then go on.
                continue
            delay_s = self._delay_s()
            if delay_s is None:
                await self._wake.wait()
                continue
            # asyncio.timeout rather than wait_for: no extra task per sleep.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay_s):
                    await self._wake.wait()
