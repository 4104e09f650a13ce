"""`ballast status`: what `ballast up` printed when it came up, again.

`ballast up` writes its banner to a state file of its own (`up-<API port>.json`, readable
by its user alone: it holds the API key) once the system is up, and removes it when it
stops. The files live in `$BALLAST_STATE_DIR`, else `$XDG_RUNTIME_DIR/ballast`, else
`<temp dir>/ballast-<uid>`. A file whose launcher is gone (killed with SIGKILL) is
stale: `ballast status` removes it and says nothing of it."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

STATE_DIR_VARIABLE = "BALLAST_STATE_DIR"
# What `ballast status` exits with when nothing runs.
EXIT_NOTHING_RUNNING = 1


def state_dir() -> Path:
    configured = os.environ.get(STATE_DIR_VARIABLE)
    if configured:
        return Path(configured)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "ballast"
    return Path(tempfile.gettempdir()) / f"ballast-{os.getuid()}"


def write(api_port: int, banner: str) -> Path:
    """Record this launcher's banner; returns the file, for `remove`."""
    directory = state_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"up-{api_port}.json"
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"pid": os.getpid(), "api_port": api_port, "banner": banner}, file)
    temporary.replace(path)
    return path


def remove(path: Path) -> None:
    """Remove `path` if it is still this process's (a later launcher may own it now)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def running() -> list[dict[str, Any]]:
    """The state of every `ballast up` of this user that still runs, by API port."""
    found = []
    directory = state_dir()
    for path in sorted(directory.glob("up-*.json")) if directory.is_dir() else []:
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(state, dict) and _alive(state.get("pid")):
            found.append(state)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return found


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    states = running()
    if not states:
        print("ballast status: nothing is running (start it with `ballast up`).")
        return EXIT_NOTHING_RUNNING
    for state in states:
        print(str(state["banner"]).strip("\n") + "\n")
    return 0
