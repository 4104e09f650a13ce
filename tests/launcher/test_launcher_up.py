"""`ballast up`, run as a real process over stand-in API, rail and worker packages.

The stand-ins (tests/launcher/stubs) come first on the path, so these tests exercise the
launcher alone: wiring, startup order, the ready-made key and marketplace, and above all
that no process outlives it, however it ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from launcher_procs import ProcessId, alive, identify, process_tree, wait_gone

import ballast
from ballast.embedded import free_port

STUBS_DIR = Path(__file__).parent / "stubs"
# A listening socket's state in /proc/net/tcp.
TCP_LISTEN = "0A"
REPO_ROOT = Path(ballast.__file__).resolve().parent.parent
# The launcher starts three to four Python processes one after another; on a loaded CI
# machine each import of aiohttp and pydantic may take a second.
READY_TIMEOUT_S = 30.0
# The launcher's own bound is CHILD_STOP_GRACE_S (10 s) plus the embedded servers' stop.
EXIT_TIMEOUT_S = 30.0
STUB_SECRET = "ak-test-stub0123456789"
STUB_MARKETPLACE_ID = "TEST-MPstub0123456789"


class Launcher:
    """A `python -m ballast up` process in its own session, with its output collected."""

    def __init__(self, tmp_path: Path, extra_args: list[str], env: dict[str, str]) -> None:
        self.record_dir = tmp_path / "records"
        self.record_dir.mkdir(parents=True)
        self.api_port = free_port()
        self.lines: list[str] = []
        self._changed = threading.Condition()
        child_env = {**env, "STUB_RECORD_DIR": str(self.record_dir)}
        child_env["PYTHONPATH"] = os.pathsep.join([str(STUBS_DIR), str(REPO_ROOT)])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ballast", "up", "--port", str(self.api_port), *extra_args],
            # `python -m` puts the working directory first on the path: the stand-ins win.
            cwd=STUBS_DIR,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group, so that a test can Ctrl-C it as a terminal would.
            start_new_session=True,
        )
        self.identity = identify(self.process.pid)
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for raw_line in self.process.stdout:
            with self._changed:
                self.lines.append(raw_line.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()

    def wait_for_line(self, pattern: str, timeout_s: float = READY_TIMEOUT_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines:
                    if match := re.search(pattern, line):
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    output = "\n".join(self.lines)
                    raise AssertionError(f"no line matching {pattern!r} in:\n{output}")
                self._changed.wait(min(remaining, 0.1))

    def records(self, role: str) -> list[dict[str, object]]:
        paths = sorted(self.record_dir.glob(f"{role}-*.json"))
        return [json.loads(path.read_text()) for path in paths]

    def children(self) -> set[ProcessId]:
        found = set()
        for entry in self.records("*"):
            pid, start_time = entry["pid"], entry["start_time"]
            assert isinstance(pid, int) and isinstance(start_time, int)
            found.add((pid, start_time))
        return found

    def wait_exit(self) -> int:
        return self.process.wait(timeout=EXIT_TIMEOUT_S)

    def kill_everything(self) -> None:
        for process in {self.identity, *self.children()}:
            if alive(process):
                os.kill(process[0], signal.SIGKILL)


@pytest.fixture
def start_launcher(tmp_path: Path) -> Iterator[Callable[..., Launcher]]:
    started: list[Launcher] = []

    def start(*extra_args: str, embedded: bool = False, **extra_env: str) -> Launcher:
        env = {key: value for key, value in os.environ.items() if not key.startswith("BALLAST_")}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        if not embedded:
            # The stand-ins never connect: any URL keeps the embedded servers out of it.
            env |= {"DATABASE_URL": "postgresql://stub/none", "REDIS_URL": "redis://stub/0"}
        launcher = Launcher(tmp_path / f"run{len(started)}", list(extra_args), env | extra_env)
        started.append(launcher)
        return launcher

    yield start
    for launcher in started:
        launcher.kill_everything()


def _ready(launcher: Launcher, workers: int, apis: int = 1) -> set[ProcessId]:
    """Wait for the banner; return the children's identities."""
    launcher.wait_for_line(r"^Try:  curl ")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while len(launcher.records("worker")) < workers and time.monotonic() < deadline:
        time.sleep(0.05)
    children = launcher.children()
    assert len(children) == 1 + apis + workers
    return children


def test_up_wires_everything_and_stops_on_ctrl_c(
    start_launcher: Callable[..., Launcher],
) -> None:
    launcher = start_launcher("--workers", "2", "--rail-day-ms", "1234")
    children = _ready(launcher, workers=2)
    api_url = f"http://127.0.0.1:{launcher.api_port}"
    assert launcher.wait_for_line(r"API:\s+(\S+)")[1] == api_url
    assert launcher.wait_for_line(r"API key:\s+(\S+)")[1] == STUB_SECRET
    assert launcher.wait_for_line(r"Marketplace:\s+(\S+)")[1] == STUB_MARKETPLACE_ID
    assert launcher.wait_for_line(r"^Try:  curl -u (\S+): (\S+)").groups() == (
        STUB_SECRET,
        f"{api_url}/marketplaces/{STUB_MARKETPLACE_ID}",
    )

    [rail], [api] = launcher.records("rail"), launcher.records("api")
    # The rail takes the port after the API's when it is free, another free one otherwise.
    rail_url = launcher.wait_for_line(r"Rail:\s+(\S+)")[1]
    rail_port = int(rail_url.rsplit(":", 1)[1])
    config = rail["config"]
    assert isinstance(config, dict) and isinstance(api["env"], dict)
    assert config["port"] == rail_port and config["day_ms"] == 1234
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", config["secret"])
    assert api["rail_url"] == rail_url and api["api_port"] == launcher.api_port
    assert api["reuse_port"] is False  # One API: a second one on the port fails, not shares.
    assert api["env"]["BALLAST_RAIL_SECRET"] == config["secret"]
    # The rail's control token is in the banner, reaches the rail and the API (whose
    # dashboard drives the rail's control API), never the workers, and never argv.
    token = launcher.wait_for_line(r"Rail token:\s+(\S+)")[1]
    assert config["control_token"] == token and len(token) >= 32
    assert not config["open_control"] and api["env"]["BALLAST_RAIL_CONTROL_TOKEN"] == token
    for worker in launcher.records("worker"):
        assert isinstance(worker["env"], dict)
        assert "BALLAST_RAIL_CONTROL_TOKEN" not in worker["env"]
    assert len(api["env"]["BALLAST_FINGERPRINT_KEY"]) >= 32
    assert "BALLAST_FINGERPRINT_KEY" not in rail["env"]
    assert token not in Path(f"/proc/{rail['pid']}/cmdline").read_text()
    assert api["env"]["BALLAST_API_PUBLIC_URL"] == api_url
    assert api["env"]["BALLAST_CALLBACKS_ALLOW_PRIVATE"] == "true"
    assert config["secret"] not in Path(f"/proc/{rail['pid']}/cmdline").read_text()

    # Ctrl-C at a terminal signals the whole process group: children ignore it, and the
    # launcher stops them with SIGTERM, then exits cleanly.
    os.killpg(launcher.process.pid, signal.SIGINT)
    assert launcher.wait_exit() == 0
    assert wait_gone(children) == set()
    launcher.wait_for_line(r"^ballast up: stopped\.$")  # Its last line: all output is in.
    assert not [line for line in launcher.lines if "Traceback" in line], launcher.lines


def _listening_sockets(port: int) -> int:
    """How many TCP sockets listen on `port` (IPv4), from /proc/net/tcp."""
    listening = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        listening += int(local.rsplit(":", 1)[1], 16) == port and state == TCP_LISTEN
    return listening


def test_up_runs_several_api_processes_on_one_port_and_stops_them_all(
    start_launcher: Callable[..., Launcher],
) -> None:
    launcher = start_launcher("--workers", "1", "--api-processes", "3")
    launcher.wait_for_line(r"^Try:  curl ")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while _listening_sockets(launcher.api_port) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _listening_sockets(launcher.api_port) == 3
    apis = launcher.records("api")
    assert len(apis) == 3
    assert all(api["api_port"] == launcher.api_port and api["reuse_port"] for api in apis)
    children = _ready(launcher, workers=1, apis=3)
    os.killpg(launcher.process.pid, signal.SIGINT)
    assert launcher.wait_exit() == 0  # 1 had any API process died (a port it could not share).
    assert wait_gone(children) == set()
    launcher.wait_for_line(r"^ballast up: stopped\.$")
    assert not [line for line in launcher.lines if "Traceback" in line], launcher.lines


def test_ctrl_c_stops_workers_before_the_rail_and_valkey_with_no_traceback(
    start_launcher: Callable[..., Launcher],
) -> None:
    # The stand-in worker drains for a while after SIGTERM, as arq does, and then needs
    # the rail and Valkey still up; were either stopped under it, it would print a traceback.
    launcher = start_launcher("--workers", "2", embedded=True, STUB_WORKER_DRAIN_S="0.5")
    children = _ready(launcher, workers=2)
    os.killpg(launcher.process.pid, signal.SIGINT)
    assert launcher.wait_exit() == 0
    assert wait_gone(children) == set()
    launcher.wait_for_line(r"^ballast up: stopped\.$")  # Its last line: all output is in.
    output = "\n".join(launcher.lines)
    assert "Traceback" not in output, output
    assert len(launcher.records("drained")) == 2, output


def test_up_stops_everything_when_a_child_dies(start_launcher: Callable[..., Launcher]) -> None:
    launcher = start_launcher("--workers", "1", STUB_WORKER_EXIT_AFTER_S="0.5")
    children = _ready(launcher, workers=1)
    assert launcher.wait_exit() == 1
    launcher.wait_for_line(r"worker-1 \(pid \d+\) exited unexpectedly \(exit code 3\)")
    assert wait_gone(children) == set()


def test_nothing_outlives_a_killed_launcher(start_launcher: Callable[..., Launcher]) -> None:
    launcher = start_launcher("--workers", "1", embedded=True)
    children = _ready(launcher, workers=1)
    data_dir = Path(launcher.wait_for_line(r"^PostgreSQL: embedded at \S+ \(data: (\S+)\)")[1])
    # Its process tree: the children, Valkey and the guards (PostgreSQL is detached).
    processes = process_tree(launcher.process.pid) - {launcher.identity}
    assert children < processes
    launcher.process.kill()
    assert launcher.wait_exit() == -signal.SIGKILL
    # The children die with it (PR_SET_PDEATHSIG); the embedded servers' guards stop them.
    assert wait_gone(processes) == set()
    deadline = time.monotonic() + EXIT_TIMEOUT_S
    while data_dir.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not data_dir.parent.exists(), "the guard removes it once PostgreSQL is gone"


async def test_up_starts_embedded_servers_and_removes_them(
    start_launcher: Callable[..., Launcher],
) -> None:
    launcher = start_launcher("--workers", "0", embedded=True)
    children = await asyncio.to_thread(_ready, launcher, 0)
    data_dir = Path(launcher.wait_for_line(r"^PostgreSQL: embedded at \S+ \(data: (\S+)\)")[1])
    [api] = launcher.records("api")
    env = api["env"]
    assert isinstance(env, dict)
    database_url, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
    connection = await asyncpg.connect(database_url)
    assert await connection.fetchval("SELECT 1") == 1
    await connection.close()
    client = aioredis.Redis.from_url(redis_url)
    assert await client.ping()
    await client.aclose()

    launcher.process.terminate()
    assert await asyncio.to_thread(launcher.wait_exit) == 0
    assert await asyncio.to_thread(wait_gone, children) == set()
    assert not await asyncio.to_thread(data_dir.exists)
    with pytest.raises(OSError):
        await asyncpg.connect(database_url, timeout=1)
