"""The report a run writes: metadata, the rail's clock and rules, every figure of
summary.json in the HTML, the raw samples, the figures; and the comparison of two runs."""

from __future__ import annotations

import csv
import html
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ballast import load
from ballast.cli import main as cli_main
from ballast.load import LoadConfig
from ballast.load.command import report_dir
from ballast.load.config import REPORTS_DIR
from ballast.load.figures import FIGURES
from ballast.load.report import SAMPLES_HEADER
from ballast.load.scenario import Scenario, Step
from ballast.load.thresholds import parse_thresholds
from tests.support.rails import RAIL_SECRET, running_rail

# Everything but the per-bucket timeline and the distribution, which are drawn (and the
# timeline also tabled) rather than listed one by one.
DRAWN_ONLY = ("timeline", "distribution")


@pytest.fixture
async def rail_url() -> AsyncIterator[str]:
    async with running_rail(open_control=True) as url:
        yield url


def mixed_scenario() -> Scenario:
    return Scenario(
        name="mixed",
        steps=[
            Step(
                kind="credit",
                weight=3,
                amount_cents=(100, 900),
                failing_percent=10,
                late_return_percent=10,
                correction_percent=10,
            ),
            Step(kind="debit", weight=1, failing_percent=20),
        ],
    )


async def run_mixed(url: str, out_dir: Path, *, figures: bool, rate: float) -> dict[str, Any]:
    config = LoadConfig(
        target="rail",
        url=url,
        rail_url=url,
        count=60,
        rate=rate,
        scenario=mixed_scenario(),
        thresholds=parse_thresholds(["p99<5s", "errors<1%", "e2e_p99<10s"]),
        rail_secret=RAIL_SECRET,
        drain_timeout_s=10.0,
        out_dir=out_dir,
        progress=False,
        figures=figures,
        command_line="ballast load --scenario mixed",
    )
    return await load.run(config)


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, f"{path}.{key}")]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [leaf for i, item in enumerate(value) for leaf in leaves(item, f"{path}[{i}]")]
    return [(path, value)]


async def test_the_report_holds_every_figure_and_says_how_the_run_was_made(
    rail_url: str, tmp_path: Path
) -> None:
    summary = await run_mixed(rail_url, tmp_path, figures=True, rate=400.0)
    mix = summary["outcomes"]
    assert mix["late_returned"] > 0 and mix["corrected"] > 0 and mix["returned"] > 0
    assert mix["pending"] == 0
    assert [step["kind"] for step in summary["by_step"]] == ["credit", "debit"]
    page = (tmp_path / "report.html").read_text()
    text = html.unescape(page)

    run = summary["run"]
    assert run["command_line"] == "ballast load --scenario mixed"
    assert run["ballast_version"] and run["host"] and run["started_at"]
    assert run["rail"]["day_ms"] == 0 and run["rail"]["clock_mode"] == "instant"
    assert any("8800000006" in rule for rule in run["rail"]["rules"])  # The load's own rules.
    for name in ("started at", "ballast version", "host", "command line", "day length (ms)"):
        assert name in text, name

    # Every figure of summary.json is in the page; settings that do not apply are not.
    missing = [
        (path, value)
        for path, value in leaves({k: v for k, v in summary.items() if k not in DRAWN_ONLY})
        if value is not None and str(value if not isinstance(value, list) else value[0]) not in text
    ]
    assert missing == []
    assert "orders" not in summary["config"] and "progress" not in text
    assert "notifications duplicates" in text and "total duration (s)" in text

    assert page.count('src="data:image/png;base64,') == len(FIGURES)
    for _, (title, _) in FIGURES.items():
        assert title in text
    assert text.count("✓ pass") == 3

    with (tmp_path / "samples.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == SAMPLES_HEADER
    assert len(rows) == 60
    assert {row["kind"] for row in rows} == {"credit", "debit"}
    assert sum(row["outcome"] == "late_returned" for row in rows) == mix["late_returned"]
    assert all(float(row["e2e_ms"]) >= float(row["submit_ms"]) for row in rows if row["e2e_ms"])


async def test_compare_sets_two_runs_side_by_side(
    rail_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    await run_mixed(rail_url, first, figures=False, rate=200.0)
    await run_mixed(rail_url, second, figures=False, rate=400.0)
    for run in (first, second):  # The runs' own figures, as a run with figures writes them.
        for name in FIGURES:
            (run / f"{name}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + name.encode())
    out = tmp_path / "compare.html"
    code = cli_main(["load", "compare", str(first), str(second), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "submission p99 (ms)" in printed and f"comparison: {out}" in printed
    page = html.unescape(out.read_text())
    assert "A: first" in page and "B: second" in page and "B - A" in page
    a = json.loads((first / "summary.json").read_text())
    assert str(a["submit_latency_ms"]["p99"]) in page
    assert page.count("data:image/png;base64,") == 1 + 2 * len(FIGURES)  # Overlaid, and each.


def test_compare_refuses_what_is_not_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["load", "compare", str(tmp_path), str(tmp_path)]) == 2
    assert "summary.json" in capsys.readouterr().err


def test_each_run_gets_a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    moment = datetime(2026, 11, 30, 14, 25, 1)
    first = report_dir("rail", "payday", moment)
    assert first == REPORTS_DIR / "20261130-142501-rail-payday"
    first.mkdir(parents=True)
    assert report_dir("rail", "payday", moment).name == "20261130-142501-rail-payday-2"
