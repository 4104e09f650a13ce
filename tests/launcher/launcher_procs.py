"""Process inspection for the launcher tests, from /proc (Linux)."""

from __future__ import annotations

import os
import time
from pathlib import Path

# Processes stopped by the code under test are gone within milliseconds; this is ample.
GONE_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.02

# A process is named by (pid, start time), so that a reused pid is not mistaken for it.
ProcessId = tuple[int, int]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # Fields after the parenthesised command name: state is [0], ppid [1], starttime [19].
    return stat.rsplit(")", 1)[1].split()


def identify(pid: int) -> ProcessId:
    fields = _stat_fields(pid)
    assert fields is not None, f"process {pid} does not exist"
    return pid, int(fields[19])


def process_tree(pid: int) -> set[ProcessId]:
    """`pid` and all its descendants, as they are now."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, pending = set(), [pid]
    while pending:
        current = pending.pop()
        tree.add(identify(current))
        pending.extend(parents.get(current, []))
    return tree


def alive(process: ProcessId) -> bool:
    """Whether the process runs (a zombie awaiting its reaper counts as gone)."""
    pid, start_time = process
    fields = _stat_fields(pid)
    return fields is not None and int(fields[19]) == start_time and fields[0] != "Z"


def wait_gone(processes: set[ProcessId], timeout_s: float = GONE_TIMEOUT_S) -> set[ProcessId]:
    """Wait until none of `processes` runs; return those still running at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        running = {process for process in processes if alive(process)}
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(POLL_INTERVAL_S)


def owner_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def am_root() -> bool:
    return os.geteuid() == 0
