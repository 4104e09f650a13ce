"""How ballast's processes log: their own lines and arq's lifecycle lines ("Starting
worker…") at INFO, but not the lines arq writes for every job ("→ job started",
"← … ● finished", "↻ retrying", "⊘ aborted"), so that `ballast up`'s banner stays
readable. `--log-level` (or `BALLAST_LOG_LEVEL`, which `ballast up` hands its children)
sets the level: `info` brings the per-job lines back, `debug` shows everything, `warning`
only what needs attention."""

from __future__ import annotations

import logging
import os

LOG_LEVEL_VARIABLE = "BALLAST_LOG_LEVEL"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
# Loggers that write a line per job or per request.
CHATTY_LOGGERS = ("arq", "aiohttp.access")
# Without a level asked for: our own lines (a sweep, a reconciliation) at INFO.
DEFAULT_LEVEL = logging.INFO
PER_JOB_LOGGER = "arq.worker"
# What starts each of arq's per-job lines after its timing ("%6.2fs → %s(%s)%s").
PER_JOB_MARKS = ("→", "←", "↻", "⊘")


class _NoPerJobLines(logging.Filter):
    """Drops arq's INFO line per job; keeps its others ("Starting worker", health) and
    anything at WARNING or above."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not isinstance(record.msg, str):
            return True
        parts = record.msg.split(maxsplit=2)
        return not (len(parts) > 1 and parts[1] in PER_JOB_MARKS)


def level_name(asked: str | None) -> str | None:
    """The level asked for on the command line, else in the environment; None for the
    default. An unknown name in the environment counts as none (the command line refuses
    it)."""
    name = asked or os.environ.get(LOG_LEVEL_VARIABLE, "").strip().lower() or None
    return name if name in LEVELS else None


def configure(process: str, asked: str | None = None) -> None:
    """Set up the root logger for `process` (`api`, `worker`) before its program does: its
    own `logging.basicConfig` then finds handlers and changes nothing."""
    name = level_name(asked)
    level = LEVELS[name] if name else DEFAULT_LEVEL
    logging.basicConfig(level=level, format=f"%(asctime)s {process} %(levelname)s %(message)s")
    if name is None:
        # On the logger that writes them: a logger's filters do not see its children's records.
        logging.getLogger(PER_JOB_LOGGER).addFilter(_NoPerJobLines())
        return
    for logger_name in CHATTY_LOGGERS:
        logging.getLogger(logger_name).setLevel(LEVELS[name])
