"""What `ballast up` shows of arq's log by default (ballast/logs.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ballast import logs


@pytest.fixture
def arq_records() -> Iterator[list[logging.LogRecord]]:
    """What reaches the handlers from arq's worker logger, after configure()."""
    caught: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            caught.append(record)

    logger = logging.getLogger(logs.PER_JOB_LOGGER)
    handler, filters, level = Catch(), list(logger.filters), logger.level
    logger.addHandler(handler)
    logs.configure("worker")
    logger.setLevel(logging.INFO)  # pytest's root logger may sit higher.
    yield caught
    logger.removeHandler(handler)
    logger.filters[:] = filters
    logger.setLevel(level)


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("%6.2fs → %s(%s)%s", (0.01, "submit_batch@1", "", "")),
        ("%6.2fs ← %s ● %s", (0.02, "submit_batch@1", None)),
        ("%6.2fs ↻ %s retrying job in %0.2fs", (0.01, "x", 1.0)),
        ("%6.2fs ⊘ %s aborted", (0.01, "x")),
    ],
)
def test_a_line_per_job_is_left_out_by_default(
    arq_records: list[logging.LogRecord], message: str, args: tuple[object, ...]
) -> None:
    logging.getLogger(logs.PER_JOB_LOGGER).info(message, *args)
    assert arq_records == []


def test_the_worker_starting_and_warnings_are_kept(arq_records: list[logging.LogRecord]) -> None:
    logger = logging.getLogger(logs.PER_JOB_LOGGER)
    logger.info("Starting worker for %d functions: %s", 1, "submit_batch")
    logger.warning("%6.2fs → %s failed", 0.01, "x")
    assert [record.levelno for record in arq_records] == [logging.INFO, logging.WARNING]
