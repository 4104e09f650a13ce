"""A whole ballast system that a fault test owns and may break: its own PostgreSQL and
Valkey (embedded, on fixed ports, so that a restart keeps their URLs), and the rail, the
API and the workers as real `python -m ballast` processes. The workers reach the rail
through a `RailGate` in this process, which can make the rail unreachable or slow.

Everything is bounded in time and everything started here is stopped by `close()`, which
the fixtures call even when a test fails. Children also die with this process
(PR_SET_PDEATHSIG), and the embedded servers have their own guards, so a test runner
killed outright leaves nothing running either."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as redis_asyncio
from aiohttp import web

from ballast.embedded import EmbeddedPostgres, EmbeddedValkey, free_port
from config import new_session_key

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
LOOPBACK = "127.0.0.1"
# A child that has not answered its health check by then is broken, not slow: a cold start
# of the API (imports, pool, schema) takes about a second here.
START_TIMEOUT_S = 60.0
# After SIGTERM a child finishes or hands back its work; past this it is hung.
STOP_TIMEOUT_S = 20.0
# After SIGKILL the kernel reaps a process within milliseconds; this bounds the wait.
KILL_WAIT_S = 10.0
POLL_S = 0.05
# Lines of a child's log quoted when it misbehaves.
LOG_TAIL_LINES = 30
# What arq logs once a worker has set up its signal handlers and starts its loop: before
# it, a SIGTERM would simply kill the process.
WORKER_STARTED = b"Starting worker"
# From <linux/prctl.h>: the kernel signals a child when its parent thread exits.
PR_SET_PDEATHSIG = 1
# What a child must not inherit from our environment: the machine's servers and settings.
NOT_INHERITED_PREFIXES = ("BALLAST_", "PG")
NOT_INHERITED_NAMES = ("DATABASE_URL", "REDIS_URL")


@dataclass(frozen=True)
class Tuning:
    """Settings that make faults cheap to recover from in a test (see config/__init__.py)."""

    workers: int = 2
    worker_max_jobs: int = 50
    worker_poll_delay_ms: int = 20
    sweep_interval_ms: int = 200
    outbox_stale_after_ms: int = 1000
    # How long a job may run; a SIGKILLed worker's jobs wait this + 10 s (arq's in-progress
    # key) before another worker may take them.
    job_timeout_ms: int = 5000
    callback_timeout_ms: int = 5000
    # Long enough in total to outlast a PostgreSQL restart or a busy test process.
    callback_retry_schedule_ms: tuple[int, ...] = (50, 200, 1000, 3000, 10000)
    db_pool_max_size: int = 10


def _child_preexec(parent_pid: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # The parent died before prctl took effect.
            os._exit(1)

    return preexec


class Child:
    """One `python -m ballast …` process, logging to a file of its own."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._log_offset = 0  # Where the log of the latest start begins.

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        assert not self.running, f"{self.name} runs already"
        self.starts += 1
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            log.write(f"--- start {self.starts} at {time.time():.3f} ---\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ballast",
                *self.args,
                cwd=REPO_ROOT,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_child_preexec(os.getpid()),
            )

    async def logged(self, text: bytes, timeout_s: float = START_TIMEOUT_S) -> None:
        """Return once the log of the latest start shows `text`; fail if the child dies."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                if text in log.read():
                    return
            if not self.running:
                raise AssertionError(f"{self.name} exited at start\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not log {text!r} in {timeout_s} s")
            await asyncio.sleep(POLL_S)

    async def signal(self, sig: signal.Signals, timeout_s: float) -> int:
        """Send `sig`, wait for the exit (bounded), return the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            raise AssertionError(
                f"{self.name} did not exit within {timeout_s} s of {sig.name}\n{self.log_tail()}"
            ) from None

    async def kill(self) -> int:
        return await self.signal(signal.SIGKILL, KILL_WAIT_S)

    async def stop(self) -> int:
        """SIGTERM, then SIGKILL if it hangs; never raises (cleanup path)."""
        if self.process is None:
            return 0
        if self.process.returncode is not None:
            return self.process.returncode
        try:
            return await self.signal(signal.SIGTERM, STOP_TIMEOUT_S)
        except AssertionError:
            return await self.kill()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if not self.log_path.exists():
            return f"(no log for {self.name})"
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log_path} ---\n" + "\n".join(tail)


class RailGate:
    """A pass-through in front of the rail for the workers, with the faults the rail can
    have: `down()` (connections refused: nothing listens), `failing` (it answers 503 and
    takes nothing), `delay_s` (each answer held back), `drop_first_answers` (the rail takes
    an entry, but the answer to its first submission is lost: the connection breaks).
    Every submission attempt is recorded: (monotonic time, entry id)."""

    def __init__(self, rail_url: str) -> None:
        self.rail_url = rail_url
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.failing = False
        self.delay_s = 0.0
        self.drop_first_answers = False
        self.dropped: set[str] = set()
        self.attempts: list[tuple[float, str]] = []
        self._down = False
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        self._session = aiohttp.ClientSession()
        await self.up()

    async def up(self) -> None:
        assert self._runner is not None
        self._down = False
        if self._site is None:
            self._site = web.TCPSite(self._runner, LOOPBACK, self.port, reuse_address=True)
            await self._site.start()

    async def down(self) -> None:
        """Stop listening and break the connections kept alive: the rail is unreachable."""
        self._down = True
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def heal(self) -> None:
        """Back to a plain pass-through."""
        self.failing, self.delay_s, self.drop_first_answers = False, 0.0, False
        await self.up()

    def attempts_for(self, entry_id: str) -> list[float]:
        return [at for at, attempted in self.attempts if attempted == entry_id]

    async def close(self) -> None:
        await self.down()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        if self._down:  # A connection kept alive from before: it breaks.
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=503)
        body = await request.read()
        entry_ids = _submitted_entry_ids(request, body)
        self.attempts += [(time.monotonic(), entry_id) for entry_id in entry_ids]
        if self.failing:
            return web.json_response({"error": "rail failing (test)"}, status=503)
        async with self._session.request(
            request.method,
            self.rail_url + request.path_qs,
            data=body,
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        ) as answer:
            payload = await answer.read()
            status = answer.status
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.drop_first_answers and not set(entry_ids) <= self.dropped:
            self.dropped.update(entry_ids)
            assert request.transport is not None
            request.transport.abort()  # The rail has the entry; the caller never learns it.
        return web.Response(body=payload, status=status, content_type="application/json")


def _submitted_entry_ids(request: web.Request, body: bytes) -> list[str]:
    """The entries a request submits: one (`POST /entries`), many (`/entries/batch`)."""
    if request.method != "POST" or not body:
        return []
    if request.path == "/entries":
        return [str(json.loads(body).get("id", "?"))]
    if request.path == "/entries/batch":
        return [str(entry.get("id", "?")) for entry in json.loads(body).get("entries", [])]
    return []


@dataclass
class System:
    """The running system; see the module docstring."""

    tuning: Tuning = field(default_factory=Tuning)
    root: Path = field(init=False)
    postgres: EmbeddedPostgres = field(init=False)
    valkey: EmbeddedValkey = field(init=False)
    gate: RailGate = field(init=False)
    rail: Child = field(init=False)
    api: Child = field(init=False)
    workers: list[Child] = field(default_factory=list)
    rail_secret: str = field(
        default_factory=lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    )
    rail_control_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    fingerprint_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    api_port: int = field(default_factory=free_port)
    rail_port: int = field(default_factory=free_port)
    queue_name: str = field(default_factory=lambda: f"ballast-faults:{secrets.token_hex(4)}")

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"

    @property
    def rail_url(self) -> str:
        return f"http://{LOOPBACK}:{self.rail_port}"

    @property
    def database_url(self) -> str:
        return self.postgres.url

    @property
    def redis_url(self) -> str:
        return self.valkey.url

    async def start(self) -> None:
        """Bring everything up; on failure, stop what did start and re-raise."""
        # Reachable by `nobody` (PostgreSQL's account when we are root), short enough for
        # PostgreSQL's Unix socket path inside the data dir.
        self.root = Path(tempfile.mkdtemp(prefix="ballast-faults-"))
        self.root.chmod(0o711)
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        (self.root / "logs").mkdir()
        self.postgres = EmbeddedPostgres(
            self.root / "pg", keep_data=True, fast=True, port=free_port()
        )
        self.valkey = EmbeddedValkey(self.root / "vk", port=free_port())
        await asyncio.gather(
            asyncio.to_thread(self.postgres.start), asyncio.to_thread(self.valkey.start)
        )
        self.gate = RailGate(self.rail_url)
        await self.gate.start()
        env = self._env()
        logs = self.root / "logs"
        # The rail takes its secret from BALLAST_RAIL_SECRET: argv is visible to `ps`.
        rail_args = ["--port", str(self.rail_port), "--day-ms", "0"]
        self.rail = Child("rail", ["rails", *rail_args], env, logs)
        self.api = Child("api", ["api"], env, logs)
        self.workers = [
            Child(f"worker-{number}", ["worker"], env, logs)
            for number in range(1, self.tuning.workers + 1)
        ]
        await self.rail.start()
        await self.wait_healthy(self.rail, f"{self.rail_url}/healthz")
        await self.start_api()
        for worker in self.workers:
            await self.start_worker(worker)

    def _env(self) -> dict[str, str]:
        tuning = self.tuning
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(NOT_INHERITED_PREFIXES) and key not in NOT_INHERITED_NAMES
        }
        python_path = [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
        env |= {
            "PYTHONPATH": os.pathsep.join(filter(None, python_path)),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.valkey.url,
            "BALLAST_API_HOST": LOOPBACK,
            "BALLAST_API_PORT": str(self.api_port),
            "BALLAST_API_PUBLIC_URL": self.api_url,
            "BALLAST_RAIL_URL": self.gate.url,
            "BALLAST_RAIL_SECRET": self.rail_secret,
            "BALLAST_RAIL_CONTROL_TOKEN": self.rail_control_token,
            "BALLAST_FINGERPRINT_KEY": self.fingerprint_key,
            "BALLAST_SESSION_KEY": new_session_key(),
            "BALLAST_QUEUE_NAME": self.queue_name,
            "BALLAST_CALLBACKS_ALLOW_PRIVATE": "true",
            "BALLAST_WORKER_MAX_JOBS": str(tuning.worker_max_jobs),
            "BALLAST_WORKER_POLL_DELAY_MS": str(tuning.worker_poll_delay_ms),
            "BALLAST_SWEEP_INTERVAL_MS": str(tuning.sweep_interval_ms),
            "BALLAST_OUTBOX_STALE_AFTER_MS": str(tuning.outbox_stale_after_ms),
            "BALLAST_JOB_TIMEOUT_MS": str(tuning.job_timeout_ms),
            "BALLAST_CALLBACK_TIMEOUT_MS": str(tuning.callback_timeout_ms),
            "BALLAST_CALLBACK_RETRY_SCHEDULE_MS": json.dumps(
                list(tuning.callback_retry_schedule_ms)
            ),
            "BALLAST_DB_POOL_MAX_SIZE": str(tuning.db_pool_max_size),
        }
        return env

    async def close(self) -> None:
        """Stop everything this system started, whatever state it is in. Never raises
        before everything had its chance to stop."""
        for child in [*getattr(self, "workers", []), getattr(self, "api", None)]:
            if child is not None:
                await child.stop()
        rail = getattr(self, "rail", None)
        if rail is not None:
            await rail.stop()
        gate = getattr(self, "gate", None)
        if gate is not None:
            await gate.close()
        for server in (getattr(self, "valkey", None), getattr(self, "postgres", None)):
            if server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(server.stop)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- Health ---------------------------------------------------------------------------

    async def wait_healthy(
        self, child: Child, url: str, timeout_s: float = START_TIMEOUT_S
    ) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession() as session:
            while True:
                if not child.running:
                    raise AssertionError(f"{child.name} exited at start\n{child.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(url) as answer:
                        if answer.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{child.name} not healthy in {timeout_s} s")
                await asyncio.sleep(POLL_S)

    def assert_running(self) -> None:
        """Every child still runs: none died of a fault it should have survived."""
        for child in [self.rail, self.api, *self.workers]:
            assert child.running, f"{child.name} died\n{child.log_tail()}"

    async def restore(self) -> None:
        """Whatever a test broke, bring every part back up (a no-op for what runs)."""
        if self.postgres.port is None:
            await self.start_postgres()
        if self.valkey.port is None:
            await self.start_valkey()
        await self.gate.heal()
        if not self.rail.running:
            raise AssertionError(f"the rail died; its entries are gone\n{self.rail.log_tail()}")
        if not self.api.running:
            await self.start_api()
        for worker in self.workers:
            if not worker.running:
                await self.start_worker(worker)

    # --- Faults ---------------------------------------------------------------------------

    async def start_api(self) -> None:
        await self.api.start()
        await self.wait_healthy(self.api, f"{self.api_url}/healthz")

    async def start_worker(self, worker: Child) -> None:
        await worker.start()
        await worker.logged(WORKER_STARTED)

    async def kill_worker(self, index: int) -> None:
        """SIGKILL one worker (jobs in flight die with it) and start a fresh one."""
        worker = self.workers[index]
        assert await worker.kill() == -signal.SIGKILL
        await self.start_worker(worker)

    async def stop_valkey(self) -> None:
        await asyncio.to_thread(self.valkey.stop)

    async def start_valkey(self) -> None:
        """Start Valkey on its port again, empty: whatever Redis held is gone."""
        await asyncio.to_thread(self.valkey.start)

    async def restart_valkey(self) -> None:
        await self.stop_valkey()
        await self.start_valkey()

    async def flush_redis(self) -> None:
        client = redis_asyncio.from_url(self.redis_url)
        try:
            await client.flushall()
        finally:
            await client.aclose()

    async def stop_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.stop)

    async def start_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.start)

    async def restart_postgres(self) -> None:
        await self.stop_postgres()
        await self.start_postgres()

    # --- Database access for the checks -------------------------------------------------

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await self.connect()
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()
