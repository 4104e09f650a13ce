"""Stand-in worker: idles, or exits early when asked to (launcher tests only)."""

from __future__ import annotations

import os
import time

from stub_record import record

from ballast.settings import Settings

# Long enough never to end on its own within a test; SIGTERM or SIGKILL ends it.
IDLE_S = 3600


def run(settings: Settings) -> None:
    record("worker", {"queue_name": settings.queue_name})
    exit_after_s = os.environ.get("STUB_WORKER_EXIT_AFTER_S")
    if exit_after_s:
        time.sleep(float(exit_after_s))
        raise SystemExit(3)
    time.sleep(IDLE_S)
