"""`ballast load` against the real rail service and the real pipeline, on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ballast import load
from ballast.cli import main as cli_main
from ballast.load import LoadConfig, LoadError
from ballast.load.scenario import Mix, default_scenario, load_scenario
from tests.support.pipeline import Pipeline
from tests.support.rails import RAIL_SECRET, running_rail

RAIL_CONTROL_TOKEN = "load-test-control-token-0123456789abcdef"
FIGURES = (
    "latency_over_time",
    "throughput",
    "status_in_flight",
    "latency_distribution",
    "outcomes",
)
REPORT_FILES = ("report.html", "summary.json", "samples.csv")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def rail_url() -> AsyncIterator[str]:
    """A real rail on an ephemeral loopback port; day_ms=0 decides outcomes at once."""
    async with running_rail(control_token=RAIL_CONTROL_TOKEN) as url:
        yield url


def rail_config(url: str, out_dir: Path, **changes: Any) -> LoadConfig:
    settings: dict[str, Any] = {
        "target": "rail",
        "url": url,
        "count": 40,
        "concurrency": 8,
        "out_dir": out_dir,
        "rail_secret": RAIL_SECRET,
        "drain_timeout_s": 10.0,
        "progress": False,
        "figures": False,  # Drawn once, in test_rail_load_writes_a_consistent_report.
    }
    settings.update(changes)
    return LoadConfig(**settings)


def assert_consistent(summary: dict[str, Any], out_dir: Path) -> None:
    """Every figure in the report adds up, and what was written is what was returned."""
    for name in REPORT_FILES:
        assert (out_dir / name).stat().st_size > 0, name
    drawn = (out_dir / "outcomes.png").exists()
    for name in FIGURES if drawn else ():
        assert (out_dir / f"{name}.png").read_bytes().startswith(PNG_SIGNATURE)
    assert json.loads((out_dir / "summary.json").read_text()) == summary
    page = (out_dir / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == (len(FIGURES) if drawn else 0)
    samples = (out_dir / "samples.csv").read_text().splitlines()
    assert len(samples) == 1 + summary["transfers"]["started"]
    transfers, mix = summary["transfers"], summary["outcomes"]
    assert transfers["started"] == transfers["accepted"] + transfers["errors"]
    assert sum(mix.values()) == transfers["started"]
    assert mix["error"] == transfers["errors"]
    rows = summary["timeline"]["rows"]
    assert sum(row["accepted"] for row in rows) == transfers["accepted"]
    assert sum(row["errors"] for row in rows) == transfers["errors"]
    assert sum(row["outcomes"] for row in rows) == summary["outcome_latency_ms"]["count"]
    assert sum(sum(row["statuses"].values()) for row in rows) == transfers["started"]
    assert sum(summary["status_codes"].values()) == transfers["started"]
    submit = summary["submit_latency_ms"]
    assert submit["count"] == transfers["accepted"]
    if submit["count"]:
        assert 0 < submit["p50"] <= submit["p90"] <= submit["p95"] <= submit["p99"] <= submit["max"]


def outcome_counts(summary: dict[str, Any]) -> dict[str, int]:
    return {name: count for name, count in summary["outcomes"].items() if count}


async def test_rail_load_writes_a_consistent_report(rail_url: str, tmp_path: Path) -> None:
    config = rail_config(rail_url, tmp_path, returns_percent=25, progress=True, figures=True)
    summary = await load.run(config)
    assert_consistent(summary, tmp_path)
    assert (tmp_path / "latency_over_time.png").exists()
    assert summary["transfers"] == {"started": 40, "accepted": 40, "errors": 0}
    assert outcome_counts(summary) == {"succeeded": 30, "returned": 10}
    assert summary["outcome_latency_ms"]["count"] == 40
    assert summary["notifications"] == {"duplicates": 0, "rejected": 0}


async def test_fixed_rate_spreads_the_starts_over_time(rail_url: str, tmp_path: Path) -> None:
    summary = await load.run(rail_config(rail_url, tmp_path, count=20, rate=400.0))
    assert summary["transfers"]["accepted"] == 20
    assert summary["load_duration_s"] >= 19 / 400


async def test_duration_bounds_the_run(rail_url: str, tmp_path: Path) -> None:
    config = rail_config(rail_url, tmp_path, count=None, duration_s=0.1, rate=100.0)
    summary = await load.run(config)
    assert 1 <= summary["transfers"]["started"] <= 10  # 100/s for 0.1 s


async def test_outcomes_not_back_by_the_drain_timeout_are_pending(
    rail_url: str, tmp_path: Path
) -> None:
    config = rail_config(rail_url, tmp_path, count=4, drain_timeout_s=0.0)
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            f"{rail_url}/clock",
            json={"frozen": True},
            headers={"Authorization": f"Bearer {RAIL_CONTROL_TOKEN}"},
        ) as response,
    ):
        assert response.status == 200
    summary = await load.run(config)
    assert summary["outcomes"]["pending"] == 4
    assert_consistent(summary, tmp_path)


async def test_refused_requests_count_as_errors(rail_url: str, tmp_path: Path) -> None:
    summary = await load.run(rail_config(f"{rail_url}/nowhere", tmp_path, count=5))
    assert summary["transfers"] == {"started": 5, "accepted": 0, "errors": 5}
    assert_consistent(summary, tmp_path)


async def test_pipeline_load_ends_in_signed_callbacks(pipeline: Pipeline, tmp_path: Path) -> None:
    config = LoadConfig(
        target="pipeline",
        url=pipeline.api.base_url,
        count=6,
        concurrency=3,
        orders=2,
        returns_percent=50,
        drain_timeout_s=15.0,
        out_dir=tmp_path,
        progress=False,
        figures=False,
    )
    summary = await load.run(config)
    assert_consistent(summary, tmp_path)
    assert outcome_counts(summary) == {"succeeded": 3, "returned": 3}
    assert summary["notifications"]["rejected"] == 0


async def test_targets_off_loopback_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="loopback"):
        await load.run(rail_config("http://192.0.2.1:8091", tmp_path))
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"count": 0},
        {"count": load.COUNT_MAX + 1},
        {"count": None, "duration_s": load.DURATION_S_MAX + 1},
        {"concurrency": 0},
        {"rate": 0.0},
        {"returns_percent": 101.0},
        {"drain_timeout_s": -1.0},
        {"duration_s": 1.0},  # Both a count and a duration.
    ],
)
def test_unbounded_or_contradictory_settings_are_refused(
    changes: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(LoadError):
        rail_config("http://127.0.0.1:1", tmp_path, **changes)


def test_cli_refuses_a_remote_target_with_exit_code_2(tmp_path: Path) -> None:
    code = cli_main(
        ["load", "--url", "http://192.0.2.1:8091", "--out", str(tmp_path), "--no-progress"]
    )
    assert code == 2


def test_returns_are_spread_evenly_over_any_prefix() -> None:
    mix = Mix(default_scenario(25.0))
    chosen = [mix.transfer(index).variant == "fails" for index in range(100)]
    assert sum(chosen) == 25
    assert sum(chosen[:8]) == 2


def test_timeline_buckets_stay_readable_for_any_duration() -> None:
    assert load.bucket_width_s(2.0) == 0.25
    assert load.bucket_width_s(60.0) == 1.0
    assert load.bucket_width_s(300.0) == 5.0
    assert load.bucket_width_s(load.DURATION_S_MAX) == 60.0


def test_rail_help_says_day_ms_0_is_instant(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["rails", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "0 (the default) is instant: every outcome falls due at once" in help_text
    assert "Not a manual clock" in help_text


async def test_a_marketplace_scenario_runs_through_the_pipeline(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """Credits, refunds, reversals and settlements: the synchronous ones are complete on
    their answer, the credits on their signed callbacks."""
    scenario = load_scenario("marketplace-day")
    config = LoadConfig(
        target="pipeline",
        url=pipeline.api.base_url,
        count=24,
        rate=100.0,
        scenario=scenario,
        orders=2,
        drain_timeout_s=15.0,
        out_dir=tmp_path,
        progress=False,
        figures=False,
    )
    summary = await load.run(config)
    assert_consistent(summary, tmp_path)
    assert summary["transfers"]["errors"] == 0, summary["status_codes"]
    by_kind = {step["kind"]: step for step in summary["by_step"]}
    assert set(by_kind) == {"credit", "refund", "reversal", "settlement"}
    for kind in ("refund", "reversal", "settlement"):
        assert by_kind[kind]["outcomes"]["completed"] == by_kind[kind]["started"] > 0, kind
    credits = by_kind["credit"]["outcomes"]
    assert credits["succeeded"] + credits["returned"] == by_kind["credit"]["started"]
    assert summary["outcome_latency_ms"]["count"] == by_kind["credit"]["started"]
