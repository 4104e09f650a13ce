"""The guard: a watchdog process that stops a server whose owner died without stopping
it, and removes the server's files. `python -m ballast.embedded guard ...` runs one."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from ballast.embedded._process import (
    PROCESS_EXIT_WAIT_S,
    process_alive,
    start_time,
    wait_process_gone,
)

# How long a released guard may take to exit before it is killed; it only has to read EOF.
GUARD_EXIT_WAIT_S = 5.0
# The first argument of `python -m ballast.embedded` that runs a guard (see Guard).
GUARD_COMMAND = "guard"
# What an owner writes to its guard to say "stopped as planned, nothing to do".
GUARD_RELEASE = b"release"
# The package whose __main__ runs the guard.
GUARD_PACKAGE = "ballast.embedded"


class Guard:
    """A watchdog process that stops a server whose owner died without stopping it.

    PostgreSQL (detached by pg_ctl) and Valkey would otherwise outlive an owner killed with
    SIGKILL, keeping their ports and files. The guard blocks reading a pipe from its owner.
    A normal stop writes GUARD_RELEASE and the guard exits; if the owner dies, the kernel
    closes the pipe, and the guard signals the server and removes its files. It runs in a
    session of its own, out of reach of the terminal's Ctrl-C.
    """

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @classmethod
    def watch(cls, pid: int, signals: Sequence[signal.Signals], dirs: Sequence[Path]) -> Guard:
        started = start_time(pid)
        arguments = [str(pid), "-" if started is None else str(started)]
        arguments += [",".join(str(int(sig)) for sig in signals), *map(str, dirs)]
        # Importable wherever we run from: the directory that holds the `ballast` package.
        package_parent = str(Path(__file__).resolve().parents[2])
        python_path = [package_parent, os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, python_path))}
        process = subprocess.Popen(
            [sys.executable, "-m", GUARD_PACKAGE, GUARD_COMMAND, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        return cls(process)

    def release(self) -> None:
        """Tell the guard the server was stopped as planned, and wait for it to exit."""
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # The guard may be gone already.
            self._process.stdin.write(GUARD_RELEASE)
            self._process.stdin.close()
        try:
            self._process.wait(timeout=GUARD_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def guard_main(arguments: list[str]) -> int:
    """The guard's side: wait for the owner's release or death; on death, clean up."""
    pid_text, start_time_text, signals_text, *dirs = arguments
    pid = int(pid_text)
    # Returns when the owner has written and closed, or when it died (the kernel closed).
    if sys.stdin.buffer.read() == GUARD_RELEASE:
        return 0
    # Signal only the very process we were set to guard, never a later one with its pid.
    if start_time_text == "-" or str(start_time(pid)) == start_time_text:
        for number in signals_text.split(","):
            if not process_alive(pid):
                break
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, int(number))
            wait_process_gone(pid, PROCESS_EXIT_WAIT_S)
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)
    return 0
