"""One scheduler for every pending outcome: a calendar queue keyed by simulated due time.

Outcomes are scheduled as integer ids (the bank uses entries' trace sequences, and 0 for
its file cut-offs), in two structures:
- buckets: ids due at the same moment share one compact `array` of 4-byte integers, in
  push order, and the distinct due times sit in a heap. ACH settles in windows, so a
  million outcomes typically share a handful of due times and cost about 4 bytes each;
- singles: an id whose due time differs from the previous push's goes into a heap of
  packed integers (`due_ms << 24 | id`, ~48 bytes), so that outcomes with distinct due
  times (delays, `after_banking_days = 0`) never pay for a bucket each (~250 bytes).
A due time's second push opens its bucket. Firing takes the earlier of the two heads:
O(1) per bucketed outcome plus O(log n) per bucket or single.

A single background task sleeps until the earliest bucket falls due (in wall time, as the
clock converts it) and is woken early through an asyncio.Event when an earlier item is
pushed or the clock changes. One task per entry would cost ~1 KiB and a timer handle each.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rails.clock import BankingClock

log = logging.getLogger(__name__)

# Two million outcomes leave room for the design's million entries even when every one
# carries a late return, while a runaway load generator is refused (HTTP 503) instead of
# exhausting the machine's memory.
SCHEDULED_MAX = 2_000_000
# Items fired before yielding to the event loop, so that HTTP requests are still served
# while a clock advance releases a million outcomes at once.
FIRE_BATCH = 1000
# The longest single sleep. Every change wakes the task anyway; this only bounds the harm
# of a wake-up that a future change forgets to send.
SLEEP_MAX_S = 60.0
# Ids fit 24 bits (trace sequences stop at 9,999,999, seven digits), so that a single is
# one integer with its due time; buckets store them as unsigned 32-bit array items.
ID_BITS = 24
ID_MAX = 2**ID_BITS - 1
ID_TYPECODE = "I"
assert array(ID_TYPECODE).itemsize >= 4

# (item id, due_ms): applies one outcome. Synchronous, so that a batch of outcomes is
# applied without interleaving with request handlers. It may schedule more items.
Fire = Callable[[int, int], None]


class SchedulerFull(Exception):
    """Too many outcomes are waiting; refuse new entries until some have fired."""


class _Bucket:
    """The ids due at one moment, and how many of them have fired."""

    __slots__ = ("fired", "ids")

    def __init__(self, item_id: int) -> None:
        self.ids = array(ID_TYPECODE, (item_id,))
        self.fired = 0

    def exhausted(self) -> bool:
        return self.fired == len(self.ids)


class Scheduler:
    def __init__(
        self, clock: BankingClock, fire: Fire, *, scheduled_max: int = SCHEDULED_MAX
    ) -> None:
        assert scheduled_max > 0
        self._clock = clock
        self._fire = fire
        self._scheduled_max = scheduled_max
        self._due_times: list[int] = []  # A heap of the buckets' distinct due times.
        self._buckets: dict[int, _Bucket] = {}
        self._singles: list[int] = []  # A heap of `due_ms << ID_BITS | id`.
        self._last_due_ms: int | None = None
        self._count = 0
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return self._count

    def has_room(self, count: int) -> bool:
        return self._count + count <= self._scheduled_max

    def schedule(self, due_ms: int, item_id: int) -> None:
        """Fire `item_id` at `due_ms`. Ties fire in push order, but for items pushed at a
        due time that the previous push did not have: those fire first, by id."""
        assert 0 <= item_id <= ID_MAX, item_id
        if self._count >= self._scheduled_max:
            raise SchedulerFull(f"{self._scheduled_max} outcomes already scheduled")
        self._count += 1
        bucket = self._buckets.get(due_ms)
        if bucket is not None:
            bucket.ids.append(item_id)
            return
        next_due_ms = self.next_due_ms()
        if due_ms == self._last_due_ms:
            self._buckets[due_ms] = _Bucket(item_id)
            heapq.heappush(self._due_times, due_ms)
        else:
            heapq.heappush(self._singles, due_ms << ID_BITS | item_id)
        self._last_due_ms = due_ms
        if next_due_ms is None or due_ms < next_due_ms:
            self._wake.set()

    def wake(self) -> None:
        """Re-read the clock: call after any change of pace, freeze or advance."""
        self._wake.set()

    def bucket_count(self) -> int:
        """Due times shared by several outcomes, a figure for benchmarks and /healthz."""
        return len(self._buckets)

    def next_due_ms(self) -> int | None:
        bucket_due_ms = self._due_times[0] if self._due_times else None
        single_due_ms = self._singles[0] >> ID_BITS if self._singles else None
        if bucket_due_ms is None or single_due_ms is None:
            return single_due_ms if bucket_due_ms is None else bucket_due_ms
        return min(bucket_due_ms, single_due_ms)

    def _pop(self) -> tuple[int, int] | None:
        """The next (id, due_ms) in due order if it is due; drops exhausted buckets."""
        due_times, singles, buckets = self._due_times, self._singles, self._buckets
        while due_times and buckets[due_times[0]].exhausted():
            del buckets[heapq.heappop(due_times)]
        bucket_due_ms = due_times[0] if due_times else None
        single_due_ms = singles[0] >> ID_BITS if singles else None
        # On a tie the single goes first: it is the due time's first push.
        if bucket_due_ms is not None and (single_due_ms is None or bucket_due_ms < single_due_ms):
            if not self._clock.is_due(bucket_due_ms):
                return None
            bucket = buckets[bucket_due_ms]
            item_id = bucket.ids[bucket.fired]
            bucket.fired += 1
            return item_id, bucket_due_ms
        if single_due_ms is not None and self._clock.is_due(single_due_ms):
            return heapq.heappop(singles) & ID_MAX, single_due_ms
        return None

    def fire_due(self, limit: int = FIRE_BATCH) -> int:
        """Fire up to `limit` due items in due order; returns how many fired."""
        assert limit > 0
        fired = 0
        while fired < limit and (next_item := self._pop()) is not None:
            item_id, due_ms = next_item
            self._count -= 1
            fired += 1
            try:
                self._fire(item_id, due_ms)
            except Exception:
                # A bug in one outcome must not stop every later outcome from firing.
                log.exception("firing item %s due at %s failed", item_id, due_ms)
        assert self._count >= 0
        return fired

    async def drain(self) -> int:
        """Fire everything due now, yielding to the event loop between batches."""
        total = 0
        while (fired := self.fire_due()) > 0:
            total += fired
            await asyncio.sleep(0)
        return total

    def _delay_s(self) -> float | None:
        next_due_ms = self.next_due_ms()
        if next_due_ms is None:
            return None
        delay_s = self._clock.wall_delay_s(next_due_ms)
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
