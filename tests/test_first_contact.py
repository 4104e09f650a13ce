"""First contact: a browser at `/` lands on the dashboard, never on a password prompt;
`ballast up`'s banner is not buried under a line per job unless asked for; `ballast
status` prints it again; a rail started alone does not collide with `ballast up`'s."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import ballast
from ballast import cli, status
from ballast.embedded import free_port
from ballast.load.config import DEFAULT_PIPELINE_RAIL_URL, DEFAULT_URLS
from config import Settings
from rails.config import DEFAULT_PORT as RAIL_DEFAULT_PORT
from tests.conftest import Marketplace
from tests.support.pipeline import Pipeline

REPO_ROOT = Path(ballast.__file__).resolve().parent.parent
STUBS_DIR = REPO_ROOT / "tests" / "launcher" / "stubs"
READY_TIMEOUT_S = 30.0
EXIT_TIMEOUT_S = 30.0
STUB_SECRET = "ak-test-stub0123456789"
# What the stand-in worker logs (tests/launcher/stubs/workers/main.py).
JOB_LINE = "  0.01s → stub-job:1()"
OWN_LINE = "stub worker: our own info line"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_browser_at_the_root_is_sent_to_the_dashboard(pipeline: Pipeline) -> None:
    url = pipeline.api.base_url + "/"
    headers = {"Accept": BROWSER_ACCEPT}
    async with pipeline.http.get(url, headers=headers, allow_redirects=False) as answer:
        assert answer.status == 303
        assert answer.headers["Location"] == "/dashboard/"
        assert "WWW-Authenticate" not in answer.headers


async def test_other_clients_at_the_root_get_links_to_the_reference_without_a_key(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    for api in (pipeline.api, marketplace.api):
        answer = await api.get("/")
        assert answer.status == 200, answer.body
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.body["links"]["reference"] == "/docs"
        assert answer.body["links"]["dashboard"] == "/dashboard/"


class _Up:
    """`python -m ballast up` over the launcher tests' stand-in API, rail and worker, with
    its state files in a directory of the test's own."""

    def __init__(self, tmp_path: Path, state_dir: Path, *args: str) -> None:
        records = tmp_path / "records"
        records.mkdir(parents=True)
        self.records = records
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BALLAST_")}
        self.env |= {
            "DATABASE_URL": "postgresql://stub/none",
            "REDIS_URL": "redis://stub/0",
            "STUB_RECORD_DIR": str(records),
            "PYTHONPATH": os.pathsep.join([str(STUBS_DIR), str(REPO_ROOT)]),
            status.STATE_DIR_VARIABLE: str(state_dir),
        }
        self.port = free_port()
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ballast", "up", "--port", str(self.port), *args],
            cwd=STUBS_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def wait_ready(self) -> None:
        """The banner is out and the worker has logged its lines."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            banner = any(line.startswith("Try:  curl ") for line in self.lines)
            if banner and list(self.records.glob("worker-*.json")):
                return
            assert self.process.poll() is None, "\n".join(self.lines)
            time.sleep(0.05)
        raise AssertionError("\n".join(self.lines))

    def stop(self) -> list[str]:
        """Ctrl-C, as at a terminal; all it printed."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        assert self.process.wait(timeout=EXIT_TIMEOUT_S) == 0
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not any("stopped." in line for line in self.lines):
            assert time.monotonic() < deadline, self.lines
            time.sleep(0.02)
        return self.lines

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def up(tmp_path: Path) -> Iterator[list[_Up]]:
    started: list[_Up] = []
    yield started
    for launcher in started:
        launcher.kill()


def _start(up: list[_Up], tmp_path: Path, *args: str) -> _Up:
    launcher = _Up(tmp_path / f"run{len(up)}", tmp_path / "state", *args)
    up.append(launcher)
    return launcher


def _status(state_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALLAST_")}
    env[status.STATE_DIR_VARIABLE] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "ballast", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=READY_TIMEOUT_S,
        check=False,
    )


def test_up_keeps_per_job_lines_out_of_its_output_by_default(up: list[_Up], tmp_path: Path) -> None:
    launcher = _start(up, tmp_path)
    launcher.wait_ready()
    lines = launcher.stop()
    assert any(OWN_LINE in line for line in lines), lines
    assert any("Starting worker" in line for line in lines), lines
    assert not any(JOB_LINE in line for line in lines), lines


def test_up_with_log_level_info_shows_a_line_per_job(up: list[_Up], tmp_path: Path) -> None:
    launcher = _start(up, tmp_path, "--log-level", "info")
    launcher.wait_ready()
    lines = launcher.stop()
    assert any(JOB_LINE in line and " worker INFO " in line for line in lines), lines


def test_up_with_log_level_warning_shows_neither(up: list[_Up], tmp_path: Path) -> None:
    launcher = _start(up, tmp_path, "--log-level", "warning")
    launcher.wait_ready()
    lines = launcher.stop()
    assert not any(JOB_LINE in line or OWN_LINE in line for line in lines), lines


def test_status_prints_the_banner_while_up_runs_and_says_nothing_runs_after(
    up: list[_Up], tmp_path: Path
) -> None:
    state_dir = tmp_path / "state"
    assert _status(state_dir).returncode == status.EXIT_NOTHING_RUNNING
    launcher = _start(up, tmp_path)
    launcher.wait_ready()
    shown = _status(state_dir)
    assert shown.returncode == 0, shown.stderr
    api_url = f"http://127.0.0.1:{launcher.port}"
    assert re.search(rf"API:\s+{re.escape(api_url)}$", shown.stdout, re.M), shown.stdout
    assert re.search(rf"API key:\s+{STUB_SECRET}$", shown.stdout, re.M), shown.stdout
    assert f"{api_url}/docs" in shown.stdout
    [state_file] = state_dir.glob("up-*.json")
    assert state_file.stat().st_mode & 0o077 == 0  # It holds the key: ours alone.
    launcher.stop()
    after = _status(state_dir)
    assert after.returncode == status.EXIT_NOTHING_RUNNING
    assert after.stdout.strip().count("\n") == 0 and "nothing is running" in after.stdout
    assert not list(state_dir.glob("up-*.json"))


def test_status_forgets_a_launcher_that_was_killed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    stale = state_dir / "up-8090.json"
    stale.write_text(json.dumps({"pid": int(dead.stdout), "api_port": 8090, "banner": "old"}))
    shown = _status(state_dir)
    assert shown.returncode == status.EXIT_NOTHING_RUNNING and "old" not in shown.stdout
    assert not stale.exists()


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def test_a_rail_started_alone_does_not_take_the_port_of_ballast_ups_rail() -> None:
    # `ballast up` serves its API on --port (8090) and its rail on the port after it.
    up_ports = {cli.DEFAULT_API_PORT, cli.DEFAULT_API_PORT + 1}
    assert RAIL_DEFAULT_PORT not in up_ports
    assert _port(DEFAULT_PIPELINE_RAIL_URL) == cli.DEFAULT_API_PORT + 1
    # What connects to a rail started alone expects it on its default port.
    assert _port(Settings.model_fields["rail_url"].default) == RAIL_DEFAULT_PORT
    assert _port(DEFAULT_URLS["rail"]) == RAIL_DEFAULT_PORT


def test_the_readmes_standalone_rail_is_on_the_rails_default_port() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    [usage] = re.findall(r"`ballast rails \[--port (\d+)\]", readme)
    [example] = re.findall(
        r"ballast rails --day-ms 0 --open-control &\s+# a rail on :(\d+)", readme
    )
    assert int(usage) == int(example) == RAIL_DEFAULT_PORT
