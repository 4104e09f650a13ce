"""Thresholds, scenarios and the exit codes of `ballast load`: a run passes or fails by its
thresholds, and bad input is one clear line and exit code 2, never a traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ballast.cli import main as cli_main
from ballast.load import LoadError
from ballast.load.scenario import Mix, load_scenario, shipped_scenarios
from ballast.load.thresholds import parse_threshold
from tests.support.rails import RAIL_SECRET, running_rail


@pytest.fixture
async def rail_url() -> AsyncIterator[str]:
    async with running_rail(open_control=True) as url:
        yield url


def summary_with(**figures: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "transfers": {"started": 1000, "accepted": 999, "errors": 1},
        "outcomes": {"returned": 20, "late_returned": 0, "pending": 0},
        "throughput_per_s": {"accepted": 150.0},
        "submit_latency_ms": {"count": 999, "p95": 80.0, "p99": 240.0},
        "outcome_latency_ms": {"count": 0},
    }
    summary.update(figures)
    return summary


@pytest.mark.parametrize(
    ("text", "passed"),
    [
        ("p99<250ms", True),
        ("p99<0.2s", False),
        ("p95<=80ms", True),
        ("errors<0.1%", False),
        ("errors<=0.1%", True),
        ("errors<1", False),
        ("returns<2.5%", True),
        ("rate>100", True),
        ("rate>=200/s", False),
        ("e2e_p95<5s", False),  # No outcome arrived: no data fails.
    ],
)
def test_thresholds_compare_the_summary(text: str, passed: bool) -> None:
    assert parse_threshold(text).check(summary_with())["passed"] is passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p99 under 250ms", "write METRIC<VALUE"),
        ("p98<250ms", "unknown metric"),
        ("p99<250", "needs ms or s"),
        ("errors<1ms", "takes % or a bare count"),
        ("rate>5%", "per second"),
    ],
)
def test_bad_thresholds_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(LoadError, match=message):
        parse_threshold(text)


def test_the_shipped_scenarios_parse() -> None:
    assert set(shipped_scenarios()) >= {"payday", "marketplace-day", "soak"}
    for name in shipped_scenarios():
        scenario = load_scenario(name)
        assert scenario.load.thresholds, name


def test_a_scenario_mixes_its_steps_by_weight(tmp_path: Path) -> None:
    path = tmp_path / "mix.toml"
    path.write_text(
        'name = "mix"\n'
        '[[steps]]\nkind = "credit"\nweight = 3\namount_cents = [100, 200]\n'
        '[[steps]]\nkind = "debit"\nweight = 1\nfailing_percent = 10\n'
    )
    mix = Mix(load_scenario(str(path)))
    transfers = [mix.transfer(index) for index in range(400)]
    assert sum(t.kind == "credit" for t in transfers) == pytest.approx(300, abs=3)
    assert {t.amount_cents for t in transfers if t.kind == "debit"} == {100}
    assert all(100 <= t.amount_cents <= 200 for t in transfers if t.kind == "credit")
    debits_failing = [t.variant == "fails" for t in transfers if t.kind == "debit"]
    assert sum(debits_failing) == pytest.approx(10, abs=3)
    assert mix.transfer(7) == Mix(load_scenario(str(path))).transfer(7)  # From n alone.


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name = ", "not TOML"),
        ('name = "x"\n', "steps: Field required"),
        ('name = "x"\n[[steps]]\nkind = "wire"\n', "steps.0.kind"),
        ('name = "x"\n[[steps]]\nkind = "credit"\nweight = 0\n', "steps.0.weight"),
        ('name = "x"\n[[steps]]\nkind = "credit"\nsurprise = 1\n', "Extra inputs"),
        (
            'name = "x"\n[[steps]]\nkind = "credit"\nfailing_percent = 80\ncorrection_percent = 30',
            "exceed 100",
        ),
        ('name = "x"\n[[steps]]\nkind = "credit"\namount_cents = [500, 100]\n', "least <= most"),
    ],
)
def test_bad_scenario_files_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(LoadError, match=message):
        load_scenario(str(path))


def cli(url: str, out: Path, *arguments: str) -> int:
    base = ["load", "--url", url, "--out", str(out), "--no-progress", "--no-figures"]
    return cli_main([*base, "--rail-secret", RAIL_SECRET, *arguments])


async def run_cli(url: str, out: Path, *arguments: str) -> int:
    """The CLI runs its own event loop: run it in a thread, beside the test's rail."""
    import asyncio

    return await asyncio.to_thread(cli, url, out, *arguments)


async def test_a_scenario_run_passes_its_thresholds_with_exit_code_0(
    rail_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli(
        rail_url,
        tmp_path,
        "--scenario",
        "soak",
        "--rate",
        "200",
        "--count",
        "100",
        "--threshold",
        "p99<2s",
        "--threshold",
        "e2e_p95<5s",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✓ p99<2s" in out and "✓ e2e_p95<5s" in out and "✓ errors<0.1%" in out


async def test_a_failed_threshold_fails_the_run_with_exit_code_1(
    rail_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_cli(rail_url, tmp_path, "--count", "20", "--threshold", "p50<0.001ms")
    assert code == 1
    assert "✗ p50<0.001ms" in capsys.readouterr().out
    assert "FAILED" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--threshold", "p99<fast"], "threshold 'p99<fast'"),
        (["--stages", "30s:lots"], "not a rate"),
        (["--duration", "soon"], "not a duration"),
        (["--scenario", "no-such-scenario"], "shipped: "),
        (["--scenario", "marketplace-day", "--target", "rail"], "cannot run against the rail"),
        (["--scenario", "payday", "--returns", "5"], "failing_percent"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    code = cli("http://127.0.0.1:1", tmp_path, *arguments)
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("ballast load: ") and message in error
    assert error.count("\n") == 1


def test_a_rail_that_does_not_answer_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No run of nothing but errors: the rail is asked for /healthz before any load."""
    code = cli("http://127.0.0.1:1", tmp_path, "--count", "10")
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("ballast load: the rail at http://127.0.0.1:1 does not answer")
    assert error.count("\n") == 1
    assert not (tmp_path / "report.html").exists()
