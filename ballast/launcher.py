"""`ballast up`: the whole system on one machine, ready to take API calls.

Starts PostgreSQL and Valkey when `DATABASE_URL` / `REDIS_URL` do not point at running
ones, then the simulated ACH rail, the API and the workers as child processes, creates an
API key and a marketplace, and prints how to call it. It then watches: on Ctrl-C, SIGTERM
or SIGHUP, or when any child dies, it stops everything it started, each process before
what it depends on: the API and the workers (which drain their jobs, still calling the rail
and Valkey) first, then the rail, then Valkey and PostgreSQL.

The launcher owns shutdown. Its children block SIGINT, so a Ctrl-C at the terminal (which
reaches the whole process group) stops them once, through the launcher's SIGTERM, rather
than twice. On Linux each child also gets PR_SET_PDEATHSIG, so it dies with the launcher
even if the launcher is killed with SIGKILL.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ballast import status
from ballast.embedded import EmbeddedPostgres, EmbeddedServerError, EmbeddedValkey, free_port
from ballast.logs import LOG_LEVEL_VARIABLE

LOCAL_HOST = "127.0.0.1"
# The API applies schema migrations before it reports healthy; on a fresh embedded
# cluster that takes a second or two, on a loaded CI machine a good deal longer.
HEALTH_TIMEOUT_S = 60.0
# Health polls are cheap loopback requests; 100 ms keeps startup snappy.
HEALTH_POLL_INTERVAL_S = 0.1
# A loopback request that takes longer than this is a hung server, not a slow one.
HTTP_TIMEOUT_S = 10.0
# How long children get to finish in-flight work after SIGTERM before they are killed.
# Everything they do is at-least-once and idempotent, so a kill loses no money, only time.
CHILD_STOP_GRACE_S = 10.0
# After SIGKILL a process is gone within milliseconds; this bounds the wait regardless.
CHILD_KILL_WAIT_S = 5.0
# How often the launcher checks on its children and on shutdown requests.
SUPERVISE_POLL_INTERVAL_S = 0.2
# While children stop, poll faster: each stopped child ends the wait sooner.
STOP_POLL_INTERVAL_S = 0.05
# Bytes of randomness in the rail's signing secret: HMAC-SHA256 keys gain nothing past 32.
RAIL_SECRET_BYTES = 32
# Bytes of randomness in the rail's control token and the fingerprint key (URL-safe
# base64 of them: 43 characters, above the minimum of 32 that the rail and API require).
CONTROL_TOKEN_BYTES = 32
FINGERPRINT_KEY_BYTES = 32
# The dashboard's session key: a Fernet key, URL-safe base64 of exactly 32 bytes (config).
SESSION_KEY_BYTES = 32
# The fingerprint key's file, beside (not in) the embedded PostgreSQL's data dir: kept
# with the data by --keep-data, removed with it otherwise, and never in the database.
FINGERPRINT_KEY_FILE = "fingerprint.key"
# How much of an unexpected HTTP answer to quote in an error message.
ERROR_BODY_CHARS_MAX = 500
# Balanced API 1.1 clients ask for this media type; the API answers in it.
BALANCED_MEDIA_TYPE = "application/vnd.api+json;revision=1.1"
# API processes on one port at most: each keeps its own PostgreSQL pool (up to
# BALLAST_DB_POOL_MAX_SIZE, 10, connections), and 8 of them with a worker stay under
# PostgreSQL's default max_connections of 100. Past the machine's cores they only add
# contention.
API_PROCESSES_MAX = 8
# The environment variable that makes an API process listen with SO_REUSEPORT.
API_REUSE_PORT_VARIABLE = "BALLAST_API_REUSE_PORT"
# From <linux/prctl.h>: ask the kernel to signal us when our parent thread exits.
PR_SET_PDEATHSIG = 1
SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# What the launcher makes for its children; none is inherited from its own environment
# but the fingerprint key, which a user may set to keep fingerprints across runs.
SECRET_VARIABLES = frozenset(
    {
        "BALLAST_RAIL_SECRET",
        "BALLAST_RAIL_CONTROL_TOKEN",
        "BALLAST_FINGERPRINT_KEY",
        "BALLAST_SESSION_KEY",
    }
)

assert SUPERVISE_POLL_INTERVAL_S < CHILD_STOP_GRACE_S
assert HEALTH_POLL_INTERVAL_S < HTTP_TIMEOUT_S < HEALTH_TIMEOUT_S

# Loopback requests must never go through a proxy from the environment (HTTP_PROXY).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LaunchError(Exception):
    """The system could not be brought up; the message says why."""


class ShutdownRequested(Exception):
    """A shutdown signal arrived; raised from ordinary code, never from a signal handler."""


# Our API takes the rail's outcomes in batches (one request and one statement for a
# settlement window's worth), so the rail it starts sends them so.
RAIL_NOTIFY_BATCH_MAX = 500


def run_up(
    port: int,
    workers: int,
    rail_day_ms: int,
    keep_data: bool,
    api_processes: int = 1,
    log_level: str | None = None,
) -> int:
    """Run the whole system until a signal or a child's death; return the exit code."""
    assert 0 < port < 65536, port
    assert workers >= 0, workers
    assert rail_day_ms >= 0, rail_day_ms
    assert 1 <= api_processes <= API_PROCESSES_MAX, api_processes
    gate = _SignalGate("ballast up")
    previous_handlers = {sig: signal.signal(sig, gate.handle) for sig in SHUTDOWN_SIGNALS}
    try:
        with contextlib.ExitStack() as stack:
            system = _System(port, workers, rail_day_ms, keep_data, api_processes, log_level)
            return _bring_up_and_watch(stack, gate, system)
    except ShutdownRequested:
        _say("ballast up: stopped.")
        return 0
    except (LaunchError, EmbeddedServerError) as error:
        _say(f"ballast up: {error}", error=True)
        return 1
    finally:
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


def run_api_processes(processes: int) -> int:
    """`ballast api --processes N`: N API processes sharing the configured port
    (SO_REUSEPORT), each with its own pools, until a signal or one's death (then all stop,
    exit code 1). They migrate at once, taking turns under the schema lock (ledger.db)."""
    assert 2 <= processes <= API_PROCESSES_MAX, processes
    gate = _SignalGate("ballast api")
    previous_handlers = {sig: signal.signal(sig, gate.handle) for sig in SHUTDOWN_SIGNALS}
    try:
        with contextlib.ExitStack() as stack:
            children = _Children(gate, dict(os.environ))
            stack.callback(children.stop_all)
            _spawn_apis(children, processes, {})
            return children.watch()
    except ShutdownRequested:
        return 0
    finally:
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


def _spawn_apis(children: _Children, processes: int, secrets_env: dict[str, str]) -> list[_Child]:
    """One API process as `api`, or N as `api-1`..`api-N` sharing the port."""
    if processes == 1:
        return [children.spawn("api", ["api"], secrets_env, STAGE_CLIENT)]
    shared = secrets_env | {API_REUSE_PORT_VARIABLE: "true"}
    return [
        children.spawn(f"api-{number}", ["api"], shared, STAGE_CLIENT)
        for number in range(1, processes + 1)
    ]


@dataclass(frozen=True)
class _System:
    """What `ballast up` runs: its options."""

    port: int
    workers: int
    rail_day_ms: int
    keep_data: bool
    api_processes: int
    log_level: str | None = None  # ballast.logs: None keeps per-job lines quiet.


def _bring_up_and_watch(stack: contextlib.ExitStack, gate: _SignalGate, system: _System) -> int:
    port, workers, rail_day_ms = system.port, system.workers, system.rail_day_ms
    if not _port_free(port):
        raise LaunchError(f"port {port} is in use; choose another with --port")
    env, fingerprint_key = _backing_services(stack, gate, system.keep_data)
    rail_port = port + 1 if port < 65535 and _port_free(port + 1) else free_port()
    api_url, rail_url = f"http://{LOCAL_HOST}:{port}", f"http://{LOCAL_HOST}:{rail_port}"
    rail_secret = "whsec_" + base64.b64encode(secrets.token_bytes(RAIL_SECRET_BYTES)).decode()
    control_token = secrets.token_urlsafe(CONTROL_TOKEN_BYTES)
    # Each child gets only the secrets it uses: the rail signs and guards its control API;
    # the API and the workers check the rail's signatures and key fingerprints.
    rail_env = {"BALLAST_RAIL_SECRET": rail_secret, "BALLAST_RAIL_CONTROL_TOKEN": control_token}
    ballast_env = {"BALLAST_RAIL_SECRET": rail_secret, "BALLAST_FINGERPRINT_KEY": fingerprint_key}
    env |= {
        "BALLAST_API_HOST": LOCAL_HOST,
        "BALLAST_API_PORT": str(port),
        "BALLAST_API_PUBLIC_URL": api_url,
        "BALLAST_RAIL_URL": rail_url,
        # Local mode: the developer's callback receiver usually listens on loopback.
        "BALLAST_CALLBACKS_ALLOW_PRIVATE": "true",
        # Children's logs share our terminal; unbuffered, they appear as they happen.
        "PYTHONUNBUFFERED": "1",
    }
    if system.log_level is not None:
        env[LOG_LEVEL_VARIABLE] = system.log_level
    children = _Children(gate, env)
    stack.callback(children.stop_all)
    # The secret reaches the rail through the environment, not argv, which `ps` shows.
    rail_args = [
        *("--host", LOCAL_HOST, "--port", str(rail_port), "--day-ms", str(rail_day_ms)),
        *("--notify-batch-max", str(RAIL_NOTIFY_BATCH_MAX)),
    ]
    rail = children.spawn("rail", ["rails", *rail_args], rail_env, STAGE_SERVICE)
    _wait_healthy([rail], f"{rail_url}/healthz", gate)
    # With several API processes the port answers as soon as the first is ready; the
    # others join it as they finish starting (or, failing, stop everything like any death).
    # Only the API serves the dashboard, whose session cookies this key encrypts; a new key
    # each run signs every operator out when the system restarts.
    session_key = base64.urlsafe_b64encode(secrets.token_bytes(SESSION_KEY_BYTES)).decode()
    # The API's dashboard drives the rail's control API (its Rail page) with the token.
    api_env = ballast_env | {
        "BALLAST_SESSION_KEY": session_key,
        "BALLAST_RAIL_CONTROL_TOKEN": control_token,
    }
    apis = _spawn_apis(children, system.api_processes, api_env)
    _wait_healthy(apis, f"{api_url}/healthz", gate)
    for number in range(1, workers + 1):
        children.spawn(f"worker-{number}", ["worker"], ballast_env, STAGE_CLIENT)
    api_key_secret, marketplace_id = _create_api_key_and_marketplace(api_url)
    banner = _print_banner(
        _Banner(api_url, rail_url, rail_day_ms, control_token, api_key_secret, marketplace_id)
    )
    # `ballast status` prints it again, until we stop.
    stack.callback(status.remove, status.write(port, banner))
    return children.watch()


def _backing_services(
    stack: contextlib.ExitStack, gate: _SignalGate, keep_data: bool
) -> tuple[dict[str, str], str]:
    """Start embedded PostgreSQL and Valkey unless the environment names servers; return
    the children's environment (without secrets) and the fingerprint key."""
    # Secrets go to the children that need them (see _bring_up_and_watch), not to all.
    env = {key: value for key, value in os.environ.items() if key not in SECRET_VARIABLES}
    fingerprint_key = os.environ.get("BALLAST_FINGERPRINT_KEY")
    if not env.get("DATABASE_URL"):
        postgres = EmbeddedPostgres(keep_data=keep_data)
        stack.callback(_stop_embedded, "PostgreSQL", postgres)
        env["DATABASE_URL"] = postgres.start()
        _say(f"PostgreSQL: embedded at {env['DATABASE_URL']} (data: {postgres.data_dir})")
        assert postgres.data_dir is not None
        if not fingerprint_key:
            fingerprint_key = _kept_fingerprint_key(postgres.data_dir.parent / FINGERPRINT_KEY_FILE)
    elif not fingerprint_key:
        # Nowhere of ours to keep it: fingerprints made in this run differ from other runs'.
        fingerprint_key = secrets.token_urlsafe(FINGERPRINT_KEY_BYTES)
        _say(
            "ballast up: card and bank-account fingerprints use a key made for this run; "
            "set BALLAST_FINGERPRINT_KEY to keep them stable across runs"
        )
    gate.check()
    if not env.get("REDIS_URL"):
        valkey = EmbeddedValkey(keep_data=keep_data)
        stack.callback(_stop_embedded, "Valkey", valkey)
        env["REDIS_URL"] = valkey.start()
        _say(f"Valkey:     embedded at {env['REDIS_URL']}")
    gate.check()
    return env, fingerprint_key


def _kept_fingerprint_key(path: Path) -> str:
    """The key in `path`, made there (readable by us alone) when there is none yet."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(FINGERPRINT_KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


def _stop_embedded(name: str, server: EmbeddedPostgres | EmbeddedValkey) -> None:
    kept = server.data_dir if server.keep_data else None
    try:
        server.stop()
    except Exception as error:
        _say(f"ballast up: stopping embedded {name} failed: {error}", error=True)
    if kept is not None:
        _say(f"ballast up: kept {name} data in {kept}")


# Stop stages: a child is stopped, and has exited, before any child of a lower stage
# is asked to stop. The rail serves the API and the workers; they serve no other child.
STAGE_SERVICE = 0
STAGE_CLIENT = 1


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]
    stage: int


class _SignalGate:
    """Records shutdown signals; ordinary code asks it whether to stop."""

    def __init__(self, command: str) -> None:
        self.command = command  # What messages are prefixed with: `ballast up`.
        self.signals_received = 0
        self.last_signal: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        # Only record: raising here could interrupt cleanup code at any bytecode.
        self.signals_received += 1
        self.last_signal = signum

    @property
    def requested(self) -> bool:
        return self.signals_received > 0

    def check(self) -> None:
        if self.requested:
            assert self.last_signal is not None
            name = signal.Signals(self.last_signal).name
            _say(f"{self.command}: {name} received, stopping...")
            raise ShutdownRequested


class _Children:
    """The child processes, started in order and stopped all together."""

    def __init__(self, gate: _SignalGate, env: dict[str, str]) -> None:
        self._gate = gate
        self._env = env
        self._children: list[_Child] = []

    def spawn(
        self, name: str, ballast_args: list[str], secrets_env: dict[str, str], stage: int
    ) -> _Child:
        assert stage in (STAGE_SERVICE, STAGE_CLIENT), stage
        self._gate.check()
        process = subprocess.Popen(
            [sys.executable, "-m", "ballast", *ballast_args],
            env=self._env | secrets_env,
            stdin=subprocess.DEVNULL,
            # Same session and process group: job control (Ctrl-Z) applies to all of us.
            start_new_session=False,
            preexec_fn=_child_preexec(os.getpid()),
        )
        child = _Child(name, process, stage)
        self._children.append(child)
        return child

    def watch(self) -> int:
        """Wait for a shutdown signal (raises ShutdownRequested) or a child's death (→ 1)."""
        _say("Press Ctrl-C to stop.")
        while True:  # Runs until a signal or a death: the system is meant to stay up.
            self._gate.check()
            for child in self._children:
                code = child.process.poll()
                if code is not None:
                    _say(
                        f"ballast up: {child.name} (pid {child.process.pid}) exited "
                        f"unexpectedly ({_describe_exit(code)}); stopping everything",
                        error=True,
                    )
                    return 1
            time.sleep(SUPERVISE_POLL_INTERVAL_S)

    def stop_all(self) -> None:
        """Stop the children stage by stage, clients before the services they call: SIGTERM
        a stage, wait for it (within CHILD_STOP_GRACE_S in all), SIGKILL what is left of it.

        A worker drains its jobs after SIGTERM, and they still call the rail and Valkey;
        stopping those under it would fail its last jobs with tracebacks."""
        deadline = time.monotonic() + CHILD_STOP_GRACE_S
        # A second signal from the user means "now": skip the rest of the grace period.
        signals_before = self._gate.signals_received
        for stage in sorted({child.stage for child in self._children}, reverse=True):
            members = [child for child in self._children if child.stage == stage]
            hurry = self._gate.signals_received > signals_before
            self._stop_stage(members, deadline, None if hurry else signals_before)

    def _stop_stage(self, members: list[_Child], deadline: float, signals: int | None) -> None:
        """SIGTERM `members`, wait until `deadline` or a signal beyond `signals` (None: do
        not wait), then SIGKILL those still running."""
        running = [child for child in members if child.process.poll() is None]
        for child in reversed(running):
            child.process.terminate()
        while running and signals is not None and time.monotonic() < deadline:
            if self._gate.signals_received > signals:
                break
            running = [child for child in running if child.process.poll() is None]
            time.sleep(STOP_POLL_INTERVAL_S)
        for child in running:
            if child.process.poll() is None:
                _say(f"ballast up: {child.name} did not stop in time; killing it", error=True)
                child.process.kill()
        for child in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=CHILD_KILL_WAIT_S)
        assert all(child.process.poll() is not None for child in running)


def _child_preexec(parent_pid: int) -> Callable[[], None]:
    """What a child runs between fork and exec: block SIGINT, die with its parent."""
    prctl = _libc_prctl()

    def preexec() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        if prctl is None:
            return
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died before prctl took effect; then no signal would come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _libc_prctl() -> Callable[..., int] | None:
    """prctl(2) from the C library, loaded before fork (loading after fork is unsafe)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    return prctl


def _wait_healthy(serving: list[_Child], url: str, gate: _SignalGate) -> None:
    """Poll `url` until it answers 200; fail if one of the children `serving` it dies or
    the deadline passes."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while True:
        gate.check()
        for child in serving:
            code = child.process.poll()
            if code is not None:
                raise LaunchError(f"{child.name} exited during startup ({_describe_exit(code)})")
        with contextlib.suppress(OSError), _OPENER.open(url, timeout=HTTP_TIMEOUT_S) as answer:
            if answer.status == 200:
                return
        if time.monotonic() >= deadline:
            names = ", ".join(child.name for child in serving)
            raise LaunchError(f"{names} did not answer 200 at {url} in {HEALTH_TIMEOUT_S} s")
        time.sleep(HEALTH_POLL_INTERVAL_S)


def _create_api_key_and_marketplace(api_url: str) -> tuple[str, str]:
    """Create an API key (no auth needed for the first) and a marketplace owned by it."""
    created = _request_json("POST", f"{api_url}/api_keys", {}, None)
    try:
        api_key_secret = str(created["api_keys"][0]["secret"])
    except (KeyError, IndexError, TypeError):
        raise LaunchError(f"POST /api_keys answered without a secret: {created}") from None
    marketplace = _request_json("POST", f"{api_url}/marketplaces", {}, api_key_secret)
    try:
        marketplace_id = str(marketplace["marketplaces"][0]["id"])
    except (KeyError, IndexError, TypeError):
        raise LaunchError(f"POST /marketplaces answered without an id: {marketplace}") from None
    return api_key_secret, marketplace_id


def _request_json(method: str, url: str, body: object, basic_user: str | None) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", BALANCED_MEDIA_TYPE)
    if basic_user is not None:
        # Balanced authenticates with the key secret as the username and no password.
        token = base64.b64encode(f"{basic_user}:".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with _OPENER.open(request, timeout=HTTP_TIMEOUT_S) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")[:ERROR_BODY_CHARS_MAX]
        raise LaunchError(f"{method} {url} answered {error.code}: {text}") from None
    except (OSError, ValueError) as error:
        raise LaunchError(f"{method} {url} failed: {error}") from None


@dataclass(frozen=True)
class _Banner:
    api_url: str
    rail_url: str
    rail_day_ms: int
    rail_control_token: str
    api_key_secret: str
    marketplace_id: str


def _print_banner(banner: _Banner) -> str:
    """Print the banner; return it (for `ballast status`)."""
    api_url, marketplace_id = banner.api_url, banner.marketplace_id
    text = "\n".join(
        [
            "",
            "ballast is up.",
            f"  API:          {api_url}",
            f"  Dashboard:    {api_url}/dashboard/ (sign in with the API key)",
            f"  Reference:    {api_url}/docs",
            f"  API key:      {banner.api_key_secret}",
            f"  Marketplace:  {marketplace_id}",
            f"  Rail:         {banner.rail_url} (one banking day = {banner.rail_day_ms} ms)",
            f"  Rail token:   {banner.rail_control_token} (control API: "
            "Authorization: Bearer <token>)",
            "",
            f"Try:  curl -u {banner.api_key_secret}: {api_url}/marketplaces/{marketplace_id}",
            "`ballast status` prints this again; `--log-level info` shows a line per job.",
            "",
        ]
    )
    _say(text)
    return text


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOCAL_HOST, port))
        except OSError:
            return False
    return True


def _describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _say(message: str, *, error: bool = False) -> None:
    """Print, but never fail: after SIGHUP the terminal may be gone."""
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr if error else sys.stdout, flush=True)
