"""What the benchmarks share: a process to benchmark (the whole system, started here with
`ballast up --rail-day-ms 0` or given by URL; or any server with a /healthz), a local
HTTP receiver, the Balanced client, and how figures are printed. The client and the
receiver are `ballast load`'s (ballast.load.client), so that both drive the API alike."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import psutil

from ballast.embedded import free_port
from ballast.load.client import ApiClient, serve
from ballast.load.config import LoadError

__all__ = [
    "DRAIN_TIMEOUT_S",
    "STARTUP_TIMEOUT_S",
    "Client",
    "Cpu",
    "Memory",
    "add_system_options",
    "free_port",
    "p50_p99",
    "process",
    "serve",
    "system",
    "wait_healthy",
]

STARTUP_TIMEOUT_S = 120
HEALTH_POLL_S = 0.1
STOP_TIMEOUT_S = 60
# The run fails rather than hang if the pipeline stalls.
DRAIN_TIMEOUT_S = 600


@contextlib.asynccontextmanager
async def process(
    command: list[str], url: str, *, env: Mapping[str, str] | None = None, quiet: bool = False
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """Run `command` for the block, from when `url`/healthz answers 200; SIGTERM at the end.
    `quiet` sends its output to /dev/null."""
    output = subprocess.DEVNULL if quiet else None
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
        command, env=env, stdout=output, stderr=output
    )
    try:
        await wait_healthy(url)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=STOP_TIMEOUT_S)


@contextlib.asynccontextmanager
async def system(
    api_url: str | None,
    workers: int,
    api_processes: int = 1,
    *,
    database_url: str | None = None,
    memory: Memory | None = None,
    settings_env: Mapping[str, str] | None = None,
) -> AsyncIterator[str]:
    """The API's base URL: `api_url`, or a `ballast up` started for the block with
    `api_processes` API processes sharing its port, on `database_url` when given (else
    on DATABASE_URL or its embedded PostgreSQL) and `settings_env` (BALLAST_… settings);
    `memory` samples its processes."""
    if api_url is not None:
        yield api_url
        return
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "ballast",
        "up",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--rail-day-ms",
        "0",
        "--api-processes",
        str(api_processes),
    ]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **(settings_env or {})}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    async with process(command, url, env=env, quiet=True) as server:
        sampling = None if memory is None else asyncio.create_task(memory.sample(server.pid))
        try:
            yield url
        finally:
            if sampling is not None:
                sampling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampling


# How often the memory of the system's processes is sampled.
MEMORY_SAMPLE_S = 1.0
ROLES = ("ballast api", "ballast worker", "ballast rails")


class Memory:
    """The resident memory of `ballast up`'s API, worker and rail processes: the first and
    the last sample after startup, and the peak, in MiB, summed per role."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.peak: dict[str, float] = {}

    async def sample(self, pid: int) -> None:
        parent = psutil.Process(pid)
        while True:
            rss: dict[str, float] = dict.fromkeys(ROLES, 0.0)
            for child in parent.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    command = " ".join(child.cmdline())
                    role = next((r for r in ROLES if r in command), None)
                    if role is not None:
                        rss[role] += child.memory_info().rss / 2**20
            if all(rss.values()):  # Every process is up.
                self.first = self.first or rss
            self.last = rss
            self.peak = {role: max(self.peak.get(role, 0.0), rss[role]) for role in ROLES}
            await asyncio.sleep(MEMORY_SAMPLE_S)

    def report(self) -> str:
        return "; ".join(
            f"{role.split()[1]} {self.first[role]:.0f} → {self.last[role]:.0f} MiB "
            f"(peak {self.peak[role]:.0f})"
            for role in ROLES
            if self.first
        )


class Cpu:
    """CPU seconds spent by each part of the system over a window of a run: the API,
    worker and rail processes of `ballast up`, the PostgreSQL backends serving
    `database` (walwriter and checkpointer are left out: the server's, not a query's),
    and this process (load generator and receiver). Per unit of work, it is a figure that
    other load on the machine hardly moves, unlike throughput."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.start: dict[int, tuple[str, float]] = {}

    def _roles(self) -> dict[int, tuple[str, float]]:
        seen: dict[int, tuple[str, float]] = {}
        me = psutil.Process()
        # The system's processes are this one's (ballast up's); backends are the server's.
        mine = {child.pid for child in me.children(recursive=True)}
        for candidate in [me, *psutil.process_iter()]:
            with contextlib.suppress(psutil.Error):
                command = " ".join(candidate.cmdline())
                if candidate.pid == me.pid:
                    role = "load generator"
                elif command.startswith("postgres:") and f" {self.database} " in command:
                    role = "postgres"
                elif candidate.pid in mine:
                    role = next((r.split()[1] for r in ROLES if r in command), "")
                else:
                    role = ""
                if role:
                    times = candidate.cpu_times()
                    seen[candidate.pid] = (role, times.user + times.system)
        return seen

    def begin(self) -> None:
        self.start = self._roles()

    def report(self, units: int, unit: str) -> str:
        """Milliseconds of CPU per `unit` by role since begin(), and the total."""
        spent: dict[str, float] = {}
        for pid, (role, seconds) in self._roles().items():
            before = self.start.get(pid, (role, 0.0))[1]
            spent[role] = spent.get(role, 0.0) + seconds - before
        total_ms = 1000 * sum(spent.values()) / units
        parts = ", ".join(
            f"{role} {1000 * seconds / units:.2f}"
            for role, seconds in sorted(spent.items(), key=lambda item: -item[1])
        )
        cores = psutil.cpu_count() or 1
        return (
            f"{parts}; total {total_ms:.2f} ms per {unit}: at most "
            f"{1000 * cores / total_ms:,.0f} {unit}s/s on {cores} cores"
        )


def add_system_options(parser: argparse.ArgumentParser) -> None:
    """--workers, --api-processes and --api, what system() takes."""
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--api-processes", type=int, default=1, help="API processes on the API's port"
    )
    parser.add_argument("--api", help="a running ballast API (default: start one)")


async def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(HEALTH_POLL_S)
    raise SystemExit(f"{url} did not become healthy in {STARTUP_TIMEOUT_S} s")


class Client(ApiClient):
    """ballast.load's API client; a refused request ends the benchmark with its message."""

    async def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return await super().call(method, path, body)
        except LoadError as error:
            raise SystemExit(str(error)) from None


def p50_p99(values_ms: list[float], decimals: int) -> str:
    """The median and the 99th percentile of `values_ms` as "p50 … ms, p99 … ms", with
    `decimals` decimals; statistics.quantiles interpolates between ranks."""
    quantiles = statistics.quantiles(values_ms, n=100)
    return f"p50 {quantiles[49]:.{decimals}f} ms, p99 {quantiles[98]:.{decimals}f} ms"
