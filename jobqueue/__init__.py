"""Putting committed outbox jobs on the arq queue in Redis: the one place that knows how.

The API (after a request's commit) and the workers (after a job's commit, and the sweeper)
both enqueue, so this cannot live in `workers/` (the API never imports the workers) nor
in `api/` (the workers never import the API). It cannot live in `ledger/` either: the
domain knows PostgreSQL and no queue library; it only hands back the jobs it wrote
(`ledger.outbox.Job`). So it is a package of its own, below `api/` and `workers/` and
above `ledger/`, small enough to read at a glance.

A failure here loses nothing: PostgreSQL already holds every job (the outbox), and the
sweeper enqueues again any row left open past its stale threshold."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from arq.connections import ArqRedis

from ledger.outbox import Job

log = logging.getLogger(__name__)


async def enqueue(redis: ArqRedis, jobs: Iterable[Job], queue_name: str) -> None:
    """Put committed jobs on the queue, each under `_job_id` = its outbox id.

    The fast path does not record that it enqueued: the sweeper only takes rows that have
    stayed open past the stale threshold, and enqueueing one of those again while its job
    is still queued or running is refused by arq (same `_job_id`)."""
    try:
        for job, outbox_id in jobs:
            await redis.enqueue_job(job, outbox_id, _job_id=outbox_id, _queue_name=queue_name)
    except Exception:  # Redis may be down; PostgreSQL already holds the work.
        log.warning("enqueue failed; the outbox sweeper will retry", exc_info=True)
