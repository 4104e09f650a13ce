"""What the embedded servers share: their error, loopback ports, and watching processes
(by pid and start time, from /proc where there is one)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

LOOPBACK_HOST = "127.0.0.1"
# After SIGQUIT (immediate shutdown) or SIGKILL, how long we wait for the process to go.
PROCESS_EXIT_WAIT_S = 5.0
# Poll interval while waiting for a socket or a process: short against ~1 s startups.
POLL_INTERVAL_S = 0.05


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


def free_port(host: str = LOOPBACK_HOST) -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    assert 0 < port < 65536
    return port


def wait_for_tcp(host: str, port: int, timeout_s: float) -> None:
    """Return once `host:port` accepts a TCP connection; raise after `timeout_s`."""
    assert timeout_s > 0
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=POLL_INTERVAL_S * 10):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise EmbeddedServerError(
                    f"{host}:{port} did not accept connections within {timeout_s} s"
                ) from None
            time.sleep(POLL_INTERVAL_S)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (dead, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not sys.platform.startswith("linux")
    # The state follows the parenthesised command name, which may itself contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), from /proc; None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 of stat; counted from the state, the field after the command name, it is 20th.
    return int(stat.rsplit(")", 1)[1].split()[19])


def wait_process_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)


@contextlib.contextmanager
def signals_blocked(*signals: signal.Signals) -> Iterator[None]:
    """Block `signals` in this thread; processes started meanwhile inherit the mask."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(signals))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
