"""How ballast's processes log: their own lines at INFO, and the libraries that write a
line per job or request (arq's "→ job started" / "● finished") at WARNING, so that
`ballast up`'s banner stays readable. `--log-level` (or `BALLAST_LOG_LEVEL`, which
`ballast up` hands its children) sets both: `info` brings the per-job lines back, `debug`
shows everything, `warning` only what needs attention."""

from __future__ import annotations

import logging
import os

LOG_LEVEL_VARIABLE = "BALLAST_LOG_LEVEL"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
# Loggers that write a line per job or per request.
CHATTY_LOGGERS = ("arq", "aiohttp.access")
# Without a level asked for: our own lines (a sweep, a reconciliation) at INFO.
DEFAULT_LEVEL = logging.INFO
DEFAULT_CHATTY_LEVEL = logging.WARNING


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
    chatty = LEVELS[name] if name else DEFAULT_CHATTY_LEVEL
    for logger in CHATTY_LOGGERS:
        logging.getLogger(logger).setLevel(chatty)
