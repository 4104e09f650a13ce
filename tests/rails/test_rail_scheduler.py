"""One scheduler task for all outcomes, firing in due order."""

from __future__ import annotations

import asyncio

from conftest import Rail

from rails.clock import DAY_MS, BankingClock
from rails.models import EntryRequest
from rails.rules import Step
from rails.scheduler import Scheduler
from rails.store import Entry, Store

ENTRIES = 10_000


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


async def test_items_fire_in_due_order_whatever_the_push_order() -> None:
    clock = BankingClock(0, start_ms=0)
    clock.freeze()
    fired: list[int] = []
    scheduler = Scheduler(clock, lambda entry, plan, step, due_ms: fired.append(due_ms))
    store = Store()
    entry = store.create(
        EntryRequest.model_validate(
            {
                "id": "x",
                "kind": "debit",
                "routing_number": "021000021",
                "account_number": "1234",
                "amount_cents": 1,
            }
        ),
        0,
    )
    for due_ms in (5 * DAY_MS, DAY_MS, 3 * DAY_MS):
        scheduler.schedule(due_ms, entry, 0, Step(1, "settle"))
    clock.advance_to(4 * DAY_MS)
    assert scheduler.fire_due() == 2
    assert fired == [DAY_MS, 3 * DAY_MS]
    assert isinstance(entry, Entry)
