"""The open model's schedule: stages, arrival times, a rate held under a slow target, and
latencies counted from the schedule rather than from the send."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from ballast import load
from ballast.load import LoadConfig, LoadError
from ballast.load.arrival import Stage, arrival_offsets_s, parse_stages, stages_count
from ballast.load.client import serve
from ballast.load.latency import LiveWindow

SLOW_TARGET_DELAY_S = 0.05


def test_stages_parse_in_k6_notation() -> None:
    assert parse_stages("30s:100,1m:500, 500ms:0") == (
        Stage(30.0, 100.0),
        Stage(60.0, 500.0),
        Stage(0.5, 0.0),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "DURATION:RATE"),
        ("30s", "DURATION:RATE"),
        ("30 seconds:100", "not a duration"),
        ("30s:fast", "not a rate"),
        ("0s:100", "stage duration"),
        ("30s:-1", "stage rate"),
        ("2h:10", "up to 3600"),
    ],
)
def test_bad_stages_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(LoadError, match=message):
        parse_stages(text)


def test_a_constant_rate_is_due_every_one_over_rate() -> None:
    offsets = list(arrival_offsets_s((Stage(1.0, 10.0),), 10.0))
    assert offsets == pytest.approx([i / 10 for i in range(10)])


def test_a_ramp_makes_the_area_under_its_rate() -> None:
    stages = parse_stages("2s:100,2s:100,2s:0")  # 0 → 100 /s, held, then back to 0.
    offsets = list(arrival_offsets_s(stages, 0.0))
    assert len(offsets) == stages_count(stages, 0.0) == 100 + 200 + 100
    assert offsets == sorted(offsets)
    assert all(0 <= offset <= 6 for offset in offsets)
    # Ramping up, arrivals come closer together; held, they are evenly spaced.
    assert offsets[10] - offsets[9] > offsets[90] - offsets[89]
    held = [offset for offset in offsets if 2.1 < offset < 3.9]
    gaps = [later - earlier for earlier, later in itertools.pairwise(held)]
    assert max(gaps) == pytest.approx(min(gaps)) == pytest.approx(0.01)


@pytest.fixture
async def slow_target() -> AsyncIterator[str]:
    """A stand-in rail that takes SLOW_TARGET_DELAY_S to accept each entry."""

    async def entries(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(SLOW_TARGET_DELAY_S)
        return web.json_response({"id": body["id"]}, status=201)

    app = web.Application()
    app.router.add_post("/entries", entries)
    async with serve(app) as url:
        yield url


def slow_config(url: str, out_dir: Path, **changes: object) -> LoadConfig:
    settings: dict[str, object] = {
        "target": "rail",
        "url": url,
        "drain_timeout_s": 0.0,
        "out_dir": out_dir,
        "progress": False,
        "figures": False,
    }
    settings.update(changes)
    return LoadConfig(**settings)  # type: ignore[arg-type]


async def test_the_open_model_holds_its_rate_under_a_slow_target(
    slow_target: str, tmp_path: Path
) -> None:
    """200/s against a target taking 50 ms: ~10 in flight, and the rate is the schedule's."""
    config = slow_config(slow_target, tmp_path, rate=200.0, duration_s=1.0)
    summary = await load.run(config)
    assert summary["transfers"]["accepted"] == 200
    # The last transfer is due at 0.995 s and answers 50 ms later.
    assert summary["load_duration_s"] == pytest.approx(1.045, rel=0.05)
    assert summary["throughput_per_s"]["scheduled"] == pytest.approx(200 / 1.045, rel=0.05)
    assert summary["submit_latency_ms"]["p50"] >= SLOW_TARGET_DELAY_S * 1000
    assert summary["send_delay_ms"]["p99"] < 20  # Each was sent on time.
    assert max(row["in_flight"] for row in summary["timeline"]["rows"]) >= 5


async def test_latency_counts_from_the_schedule_when_sends_fall_behind(
    slow_target: str, tmp_path: Path
) -> None:
    """One request in flight at a time, due every 10 ms, each taking 50 ms: the sends fall
    further and further behind, and the latencies say so (no coordinated omission)."""
    config = slow_config(slow_target, tmp_path, rate=100.0, count=20, concurrency=1)
    summary = await load.run(config)
    latency = summary["submit_latency_ms"]
    # Transfer n is answered ~50·(n+1) ms after the start but was due at 10·n ms.
    assert latency["max"] >= 19 * 40
    assert latency["p50"] >= 10 * 40
    assert summary["send_delay_ms"]["max"] >= 19 * 30


async def test_the_closed_model_waits_for_each_answer(slow_target: str, tmp_path: Path) -> None:
    config = slow_config(slow_target, tmp_path, count=20, concurrency=2)
    summary = await load.run(config)
    assert summary["config"]["model"].startswith("closed")
    assert summary["load_duration_s"] >= 10 * SLOW_TARGET_DELAY_S
    assert summary["submit_latency_ms"]["max"] < 4 * SLOW_TARGET_DELAY_S * 1000


async def test_stopping_ends_the_load_early_and_still_writes_the_report(
    slow_target: str, tmp_path: Path
) -> None:
    """What Ctrl-C does: the event is set; the load stops; the report is written."""
    stopped = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stopped.set)
    config = slow_config(slow_target, tmp_path, rate=100.0, duration_s=60.0)
    summary = await load.run(config, stopped)
    assert summary["run"]["interrupted"] is True
    assert 10 <= summary["transfers"]["started"] <= 60
    assert "Interrupted" in (tmp_path / "report.html").read_text()


def test_the_live_view_shows_the_rate_and_latency_of_the_last_seconds() -> None:
    window = LiveWindow()
    for tick in range(300):  # 100 answers a second for 3 s, from 10.5 s; every 10th refused.
        window.answered(10.5 + tick / 100, latency_ms=5.0 + tick % 10, accepted=tick % 10 != 9)
    snapshot = window.snapshot(13.5)
    assert snapshot["rate_per_s"] == pytest.approx(90, rel=0.05)
    assert snapshot["errors"] == 30
    assert snapshot["p50_ms"] == pytest.approx(9.0, abs=0.05)  # HDR: 3 significant digits.
    assert snapshot["p99_ms"] == pytest.approx(13.0, abs=0.05)
    assert window.snapshot(30.0)["rate_per_s"] == 0  # Long after: nothing recent.
