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
import time
import weakref
from collections.abc import Iterable
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job

from ledger import protocol
from ledger.outbox import Job

log = logging.getLogger(__name__)


# The last batch job this process enqueued, per (queue, batch name): a burst of commits
# within one slot enqueues it once. Losing it (Redis flushed) loses nothing: the rows are
# in the outbox and the sweeper enqueues again.
_enqueued_batches: dict[tuple[str, str], str] = {}


async def enqueue(redis: ArqRedis, jobs: Iterable[Job], queue_name: str) -> None:
    """Put committed jobs on the queue: a job of its own under `_job_id` = its outbox id,
    or, for a job done in batches, the batch job due next (`protocol.batch_job`).

    The fast path does not record that it enqueued: the sweeper only takes rows that have
    stayed open past the stale threshold, and enqueueing one of those again while its job
    is still queued or running is refused by arq (same `_job_id`)."""
    try:
        batches: set[str] = set()
        for job, outbox_id in jobs:
            if job in protocol.BATCHED:
                batches.add(job)
            else:
                await _enqueue_once(redis, job, (outbox_id,), outbox_id, queue_name)
        for job in batches:
            await _enqueue_batch(redis, job, queue_name)
    except Exception:  # Redis may be down; PostgreSQL already holds the work.
        log.warning("enqueue failed; the outbox sweeper will retry", exc_info=True)


async def enqueue_due(redis: ArqRedis, job: str, due_ms: list[int], queue_name: str) -> None:
    """Have batch jobs run for rows of `job` that fall due at the moments `due_ms` (ms
    since the epoch): rows waiting out a backoff."""
    try:
        for moment_ms in sorted(set(due_ms)):
            await _enqueue_batch(redis, job, queue_name, after_ms=moment_ms - 1)
    except Exception:  # Redis may be down; PostgreSQL already holds the work.
        log.warning("enqueue failed; the outbox sweeper will retry", exc_info=True)


async def _enqueue_batch(
    redis: ArqRedis, job: str, queue_name: str, after_ms: int | None = None
) -> None:
    now_ms = int(time.time() * 1000)
    batch, job_id, due_ms = protocol.batch_job(job, now_ms if after_ms is None else after_ms)
    if _enqueued_batches.get((queue_name, batch)) == job_id:
        return
    # A batch job id already queued or running is refused, which is what we want: that job
    # is due after our commit, so it claims our rows.
    await _enqueue_once(redis, batch, (), job_id, queue_name, due_ms=due_ms)
    _enqueued_batches[(queue_name, batch)] = job_id


# arq's ArqRedis.enqueue_job in one round trip instead of three (WATCH, EXISTS, then
# MULTI/PSETEX/ZADD/EXEC): the same keys, the same serialized job, the same refusal of a
# job id that is queued, running or has a result. Every commit of the API enqueues, so the
# round trips were a fifth of the API's CPU (bench/README.md).
_ENQUEUE_ONCE_LUA = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
    return 0
end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
_scripts: weakref.WeakKeyDictionary[ArqRedis, Any] = weakref.WeakKeyDictionary()


async def _enqueue_once(
    redis: ArqRedis,
    function: str,
    args: tuple[Any, ...],
    job_id: str,
    queue_name: str,
    *,
    due_ms: int | None = None,
) -> bool:
    """Queue `function(*args)` as arq job `job_id`, to run from `due_ms` (ms since the
    epoch; default now); False if that job id is queued, running or has a result."""
    script = _scripts.get(redis)
    if script is None:
        script = _scripts[redis] = redis.register_script(_ENQUEUE_ONCE_LUA)
    enqueued_ms = int(time.time() * 1000)
    score_ms = enqueued_ms if due_ms is None else due_ms
    # arq's default expiry: a day past the moment the job falls due.
    expires_ms = score_ms - enqueued_ms + redis.expires_extra_ms
    payload = serialize_job(function, args, {}, None, enqueued_ms, serializer=redis.job_serializer)
    keys = [job_key_prefix + job_id, result_key_prefix + job_id, queue_name]
    return bool(await script(keys=keys, args=[expires_ms, payload, score_ms, job_id]))
