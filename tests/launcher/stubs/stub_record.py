"""What every stand-in shares: recording what it was started with."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def record(role: str, details: dict[str, Any]) -> None:
    """Write `details` (plus our pid and environment) for the test to read."""
    record_dir = Path(os.environ["STUB_RECORD_DIR"])
    # The start time (field 22 of /proc/PID/stat) tells this process from a later one
    # that reuses its pid.
    start_time = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    entry = {"role": role, "pid": os.getpid(), "start_time": start_time, **details}
    entry["env"] = {key: value for key, value in os.environ.items() if key.startswith("BALLAST_")}
    entry["env"] |= {key: os.environ.get(key, "") for key in ("DATABASE_URL", "REDIS_URL")}
    path = record_dir / f"{role}-{os.getpid()}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(entry))
    temporary.rename(path)
