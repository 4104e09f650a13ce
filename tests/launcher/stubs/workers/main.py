"""Stand-in worker: idles, or exits early when asked to (launcher tests only). With
STUB_WORKER_DRAIN_S it drains like a real worker after SIGTERM: for that long it still
needs the rail and Redis, and fails with a traceback if either is gone by then."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from types import FrameType
from urllib.parse import urlsplit

import redis
from stub_record import record

from config import Settings

# Long enough never to end on its own within a test; SIGTERM or SIGKILL ends it.
IDLE_S = 3600
# A loopback connection that is refused fails at once; this only bounds a hung one.
CONNECT_TIMEOUT_S = 2.0


# What a real worker logs per job (arq's own words), and a line of our own.
JOB_LINE = "  0.01s → stub-job:1()"
OWN_LINE = "stub worker: our own info line"
# arq's line when a worker starts (kept: it is not per job).
STARTED_LINE = "Starting worker for 1 functions: stub-job"


def run(settings: Settings) -> None:
    # Logged before the record is written: once it exists, the lines are out.
    logging.getLogger("arq.worker").info(STARTED_LINE)
    logging.getLogger("arq.worker").info(JOB_LINE)
    logging.getLogger("workers.stub").info(OWN_LINE)
    record("worker", {"queue_name": settings.queue_name})
    exit_after_s = os.environ.get("STUB_WORKER_EXIT_AFTER_S")
    if exit_after_s:
        time.sleep(float(exit_after_s))
        raise SystemExit(3)
    drain_s = os.environ.get("STUB_WORKER_DRAIN_S")
    if drain_s:
        signal.signal(signal.SIGTERM, _drainer(float(drain_s), settings))
    time.sleep(IDLE_S)


def _drainer(drain_s: float, settings: Settings) -> Callable[[int, FrameType | None], None]:
    def drain(signum: int, frame: FrameType | None) -> None:
        time.sleep(drain_s)
        # The last job's calls: both must still answer, or this raises (a traceback).
        rail = urlsplit(settings.rail_url)
        assert rail.hostname is not None and rail.port is not None
        socket.create_connection((rail.hostname, rail.port), timeout=CONNECT_TIMEOUT_S).close()
        redis.Redis.from_url(settings.redis_url, socket_timeout=CONNECT_TIMEOUT_S).ping()
        record("drained", {})
        raise SystemExit(0)

    return drain
