"""Who ran what, where and when: the facts a reader needs to trust or compare a report."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ballast.load.config import LoadConfig

GIT_TIMEOUT_S = 2.0  # Reading a commit id is instant; a hung git must not hold a run.


def ballast_version() -> str:
    try:
        return metadata.version("ballast")
    except metadata.PackageNotFoundError:
        return "unknown"


def ballast_commit() -> str | None:
    """The commit of the checkout ballast runs from (an editable install), if any."""
    source = Path(__file__).resolve().parents[2]
    try:
        found = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found.stdout.strip() or None if found.returncode == 0 else None


def run_metadata(config: LoadConfig) -> dict[str, Any]:
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ballast_version": ballast_version(),
        "ballast_commit": ballast_commit(),
        "host": platform.node(),
        "platform": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "cpus": os.cpu_count(),
        "command_line": config.command_line,
        "generator": "ballast load",
        "rail": {"error": "no rail URL (--rail-url) for this run"},
    }
