"""A callback's delivery lane in a worker (`workers.deliveries.Lane`): at most its
concurrency in flight; a full lane waits briefly for a busy receiver and gives up at once
on a stuck one, so that a stuck receiver never holds the worker's job slots."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from workers import deliveries
from workers.deliveries import STUCK_AFTER_S, Lane


async def test_a_lane_admits_up_to_its_concurrency_and_a_leave_frees_a_slot() -> None:
    lane = Lane(2)
    assert await lane.enter("OB1") and await lane.enter("OB2")
    assert set(lane.started) == {"OB1", "OB2"}
    lane.leave("OB1")
    assert await lane.enter("OB3")
    assert set(lane.started) == {"OB2", "OB3"}


async def test_a_full_lane_of_a_busy_receiver_waits_for_the_next_free_slot() -> None:
    lane = Lane(1)
    assert await lane.enter("OB1")
    waiting = asyncio.ensure_future(lane.enter("OB2"))
    await asyncio.sleep(STUCK_AFTER_S / 5)
    assert not waiting.done()
    lane.leave("OB1")
    assert await waiting
    assert set(lane.started) == {"OB2"}


async def test_a_full_lane_gives_up_when_no_slot_frees_in_time() -> None:
    lane = Lane(1)
    assert await lane.enter("OB1")
    started_s = time.monotonic()
    assert not await lane.enter("OB2")
    assert time.monotonic() - started_s >= STUCK_AFTER_S * 0.9
    assert set(lane.started) == {"OB1"}


async def test_a_full_lane_of_a_stuck_receiver_refuses_at_once() -> None:
    lane = Lane(1)
    assert not lane.full_and_stuck()
    assert await lane.enter("OB1")
    assert not lane.full_and_stuck(), "full, but its delivery has just started"
    lane.started["OB1"] -= STUCK_AFTER_S * 2
    assert lane.full_and_stuck()
    started_s = time.monotonic()
    assert not await lane.enter("OB2")
    assert time.monotonic() - started_s < STUCK_AFTER_S / 2


async def test_a_lane_with_a_free_slot_is_never_stuck() -> None:
    lane = Lane(2)
    assert await lane.enter("OB1")
    lane.started["OB1"] -= STUCK_AFTER_S * 2
    assert not lane.full_and_stuck()
    assert await lane.enter("OB2")


def _ctx(concurrency_max: int, callback_timeout_ms: int = 10_000) -> Any:
    return {
        "callback_lanes": {},
        "settings": SimpleNamespace(
            callback_concurrency_max=concurrency_max, callback_timeout_ms=callback_timeout_ms
        ),
    }


async def test_each_callback_keeps_one_lane_sized_by_the_settings() -> None:
    ctx = _ctx(3)
    lane = deliveries._lane(ctx, "CB1")
    assert deliveries._lane(ctx, "CB1") is lane
    assert deliveries._lane(ctx, "CB2") is not lane
    for n in range(3):
        assert await lane.enter(f"OB{n}")
    assert lane.slots.locked()


def test_a_lane_calls_its_receiver_stuck_after_half_the_delivery_timeout() -> None:
    assert deliveries._lane(_ctx(1, callback_timeout_ms=10_000), "CB1").stuck_after_s == 5.0
    # Never sooner than the floor, however short the timeout.
    short = deliveries._lane(_ctx(1, callback_timeout_ms=100), "CB1")
    assert short.stuck_after_s == STUCK_AFTER_S


async def test_past_the_lane_limit_idle_lanes_are_forgotten_and_busy_ones_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "CALLBACK_LANES_MAX", 2)
    ctx = _ctx(1)
    busy = deliveries._lane(ctx, "CB_BUSY")
    assert await busy.enter("OB1")
    deliveries._lane(ctx, "CB_IDLE")
    deliveries._lane(ctx, "CB_NEW")
    assert set(ctx["callback_lanes"]) == {"CB_BUSY", "CB_NEW"}
    assert ctx["callback_lanes"]["CB_BUSY"] is busy
    busy.leave("OB1")
