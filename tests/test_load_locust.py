"""ballast load on Locust: a master and two workers on loopback run a shipped scenario
against a real rail, and the master writes the same report as `ballast load`."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.rails import RAIL_SECRET, running_rail

LOCUSTFILE = Path(__file__).resolve().parents[1] / "ballast" / "load" / "locustfile.py"
RUN_TIMEOUT_S = 60.0  # Locust starts in ~1 s a process; the run is 2 s and a short drain.


@pytest.fixture
async def rail_url() -> AsyncIterator[str]:
    async with running_rail(open_control=True) as url:
        yield url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def locust_command() -> list[str]:
    found = shutil.which("locust", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "locust"]


async def test_a_master_and_two_workers_write_the_report(rail_url: str, tmp_path: Path) -> None:
    port = free_port()
    environment = {**os.environ, "BALLAST_RAIL_SECRET": RAIL_SECRET}
    common = [*locust_command(), "-f", str(LOCUSTFILE)]
    worker_arguments = [
        *common,
        "--worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        str(port),
    ]
    master_arguments = [
        *common,
        "--headless",
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--expect-workers",
        "2",
        "--users",
        "4",
        "--spawn-rate",
        "4",
        "--run-time",
        "2s",
        "--host",
        rail_url,
        "--ballast-scenario",
        "soak",
        "--ballast-user-rate",
        "20",
        "--ballast-threshold",
        "e2e_p99<5s",
        "--ballast-drain-timeout",
        "10",
        "--ballast-out",
        str(tmp_path / "report"),
    ]

    def spawn(arguments: list[str], log: str) -> asyncio.Future[asyncio.subprocess.Process]:
        output = (tmp_path / log).open("wb")
        return asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *arguments, stdout=output, stderr=asyncio.subprocess.STDOUT, env=environment
            )
        )

    processes = [
        await spawn(master_arguments, "master.log"),
        await spawn(worker_arguments, "worker-1.log"),
        await spawn(worker_arguments, "worker-2.log"),
    ]
    try:
        async with asyncio.timeout(RUN_TIMEOUT_S):
            codes = [await process.wait() for process in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    master_log = (tmp_path / "master.log").read_text()
    assert codes == [0, 0, 0], master_log[-3000:]
    assert "✓ e2e_p99<5s" in master_log
    assert "E2E      credit outcome" in master_log  # End to end in Locust's own figures too.

    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    run = summary["run"]
    assert (run["generator"], run["workers"]) == ("locust", 2)
    assert run["rail"]["day_ms"] == 0
    transfers = summary["transfers"]
    assert transfers["accepted"] == transfers["started"] >= 20
    assert summary["outcomes"]["pending"] == 0
    assert summary["outcome_latency_ms"]["count"] == transfers["accepted"]
    assert summary["notifications"]["rejected"] == 0
    assert [step["kind"] for step in summary["by_step"]] == ["credit", "debit"]
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5
    samples = (tmp_path / "report" / "samples.csv").read_text().splitlines()
    assert len(samples) == 1 + transfers["started"]
