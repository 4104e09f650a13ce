"""One scheduler task for all outcomes, firing in due order."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Rail

from rails.clock import DAY_MS, BankingClock
from rails.models import EntryRequest
from rails.scheduler import FIRE_BATCH, Scheduler, SchedulerFull

ENTRIES = 10_000


def frozen_scheduler(fired: list[tuple[int, int]], **kwargs: int) -> tuple[BankingClock, Scheduler]:
    clock = BankingClock(0, start_ms=0)
    clock.freeze()
    scheduler = Scheduler(clock, lambda item, due_ms: fired.append((item, due_ms)), **kwargs)
    return clock, scheduler


async def test_ten_thousand_entries_use_one_scheduler_task(rail: Rail) -> None:
    status, _ = await rail.call("PUT", "/clock", {"frozen": True})
    assert status == 200
    tasks_before = len(asyncio.all_tasks())
    for index in range(ENTRIES):
        body = {
            "id": f"CR-{index}",
            "kind": "credit",
            "routing_number": "110000000",
            "account_number": f"{index:08d}",
            "amount_cents": 100 + index,
        }
        rail.bank.submit(EntryRequest.model_validate(body))
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == tasks_before
    assert len(rail.bank.scheduler) == ENTRIES

    status, _ = await rail.call("POST", "/clock/advance", {"banking_days": 1})
    assert status == 200
    assert len(rail.bank.scheduler) == 0
    assert all(rail.bank.store.get(f"CR-{i}").status == "settled" for i in range(ENTRIES))


def test_items_fire_in_due_order_whatever_the_push_order() -> None:
    fired: list[tuple[int, int]] = []
    clock, scheduler = frozen_scheduler(fired)
    for item, due_ms in ((1, 5 * DAY_MS), (2, DAY_MS), (3, 3 * DAY_MS)):
        scheduler.schedule(due_ms, item)
    clock.advance_to(4 * DAY_MS)
    assert scheduler.fire_due() == 2
    assert fired == [(2, DAY_MS), (3, 3 * DAY_MS)]
    assert len(scheduler) == 1


def test_items_due_at_the_same_moment_fire_in_push_order() -> None:
    fired: list[tuple[int, int]] = []
    clock, scheduler = frozen_scheduler(fired)
    for item in (7, 3, 9):
        scheduler.schedule(DAY_MS, item)
    clock.advance_to(DAY_MS)
    scheduler.fire_due()
    assert [item for item, _ in fired] == [7, 3, 9]


def test_one_pass_fires_at_most_one_batch() -> None:
    fired: list[tuple[int, int]] = []
    clock, scheduler = frozen_scheduler(fired)
    for item in range(FIRE_BATCH + 5):
        scheduler.schedule(DAY_MS, item)
    clock.advance_to(DAY_MS)
    assert scheduler.fire_due() == FIRE_BATCH
    assert scheduler.fire_due() == 5
    assert [item for item, _ in fired] == list(range(FIRE_BATCH + 5))


def test_an_item_scheduled_while_firing_at_the_same_moment_fires_in_the_same_pass() -> None:
    clock = BankingClock(0, start_ms=0)
    clock.freeze()
    fired: list[int] = []

    def fire(item: int, due_ms: int) -> None:
        fired.append(item)
        if item == 1:
            scheduler.schedule(due_ms, 2)  # A correction right after its settlement.

    scheduler = Scheduler(clock, fire)
    scheduler.schedule(DAY_MS, 1)
    clock.advance_to(DAY_MS)
    assert scheduler.fire_due() == 2
    assert fired == [1, 2]


def test_a_full_scheduler_refuses_more_items() -> None:
    _, scheduler = frozen_scheduler([], scheduled_max=2)
    scheduler.schedule(DAY_MS, 1)
    scheduler.schedule(2 * DAY_MS, 2)
    assert not scheduler.has_room(1)
    with pytest.raises(SchedulerFull):
        scheduler.schedule(DAY_MS, 3)


def test_shared_and_distinct_due_times_interleave_in_due_order() -> None:
    fired: list[tuple[int, int]] = []
    clock, scheduler = frozen_scheduler(fired)
    pushes = [(2, 1), (2, 2), (2, 3), (1, 4), (3, 5), (2, 6), (1, 7)]
    for day, item in pushes:
        scheduler.schedule(day * DAY_MS, item)
    assert scheduler.bucket_count() == 1  # Day 2's second push opened a bucket.
    clock.advance_to(3 * DAY_MS)
    assert scheduler.fire_due() == len(pushes)
    assert [item for item, _ in fired] == [4, 7, 1, 2, 3, 6, 5]
    assert len(scheduler) == 0 and scheduler.next_due_ms() is None
