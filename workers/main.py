"""The arq worker: its settings, its resources and its entry point."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import aiohttp
import asyncpg
from arq import Worker
from arq.connections import RedisSettings
from arq.typing import WorkerCoroutine
from arq.worker import func
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from callbacks import delivery
from config import Settings
from ledger import db, protocol
from rails.client import HttpRailClient
from workers.context import WorkerContext
from workers.deliveries import deliver_batch, deliver_callback
from workers.reconcile import reconcile_forever
from workers.sweeper import sweep_forever
from workers.transfers import apply_outcome, apply_outcomes, submit_batch, submit_transfer

# A job that runs longer than `settings.job_timeout_ms` is presumed stuck. arq re-runs the
# jobs of a crashed worker only after that + 10 s, so it is kept short: the longest job is
# one callback attempt (10 s timeout).
# Retries through arq; past them the job fails in arq but its outbox row stays open, so
# the sweeper will enqueue it again later. Nothing is given up by arq alone.
SUBMIT_TRIES_MAX = 50
DELIVERY_TRIES_MAX = 50
# How many HTTP connections one worker keeps open to callback receivers and the rail.
HTTP_CONNECTIONS_MAX = 100
# On SIGTERM a worker takes no new job and gives the jobs it runs this long to finish (a
# job is one rail call or one callback attempt: milliseconds, 10 s at the very worst);
# what is still running then is cancelled and handed back to the queue. Shorter than the
# 10 s `ballast up` and most supervisors allow before they SIGKILL.
SHUTDOWN_JOB_WAIT_S = 5
# While Redis is unreachable the worker polls it this often; jobs already running go on.
REDIS_RETRY_DELAY_S = 1.0
# What a lost Redis connection raises; redis-py reports one inside WATCH as a WatchError.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, WatchError)
# A worker started while PostgreSQL restarts waits for it this long (trying again at this
# pace) rather than exiting: a supervisor restarting workers during a database restart
# must not turn one outage into dead workers.
DATABASE_WAIT_S = 60.0
DATABASE_RETRY_DELAY_S = 0.5
DATABASE_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
)

log = logging.getLogger(__name__)


class _Worker(Worker):
    """arq's worker, made to outlive a Redis outage. arq lets the first Redis error of its
    poll loop end the process, which would take every job in flight down with it and leave
    the worker dead after Redis restarts. PostgreSQL holds all the work (the outbox), so the
    worker only has to wait for Redis and poll again; the sweeper re-enqueues what Redis
    lost."""

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_UNAVAILABLE as error:
            log.warning("Redis unavailable (%s); polling again in %s s", error, REDIS_RETRY_DELAY_S)
            await asyncio.sleep(REDIS_RETRY_DELAY_S)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except REDIS_UNAVAILABLE:
            # arq (0.26-0.28) takes a job slot before it claims a job in Redis and gives it
            # back only for a WatchError of the final EXEC, which it handles itself; any
            # error that escapes comes from the claim's other commands, with the slot held.
            # Without this, each would cost the worker one of its `max_jobs` slots for good.
            self.job_counter -= 1
            self.sem.release()
            raise


async def _database(settings: Settings) -> asyncpg.Pool:
    """A pool on the schema-ready database, once PostgreSQL accepts connections."""
    deadline = time.monotonic() + DATABASE_WAIT_S
    while True:
        pool = None
        try:
            pool = await db.create_pool(
                settings.database_url, min_size=1, max_size=settings.db_pool_max_size
            )
            await db.migrate(pool)
            return pool
        except DATABASE_UNAVAILABLE as error:
            if pool is not None:
                pool.terminate()
            if time.monotonic() > deadline:
                raise
            log.warning("database unavailable at startup (%s); trying again", error)
            await asyncio.sleep(DATABASE_RETRY_DELAY_S)


def _startup(settings: Settings) -> Any:
    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["pool"] = await _database(settings)
        ctx["http"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS_MAX)
        )
        ctx["rail"] = HttpRailClient(settings.rail_url, ctx["http"])
        # Callback receivers get a client of their own that connects only to vetted addresses.
        ctx["callback_http"] = delivery.session(
            allow_private=settings.callbacks_allow_private, connections_max=HTTP_CONNECTIONS_MAX
        )
        ctx["callback_lanes"] = {}
        ctx["detached_deliveries"] = set()
        ctx["sweeper"] = asyncio.create_task(
            sweep_forever(
                ctx["redis"],
                ctx["pool"],
                settings.queue_name,
                settings.sweep_interval_ms,
                settings.outbox_stale_after_ms,
            )
        )
        ctx["reconciler"] = asyncio.create_task(
            reconcile_forever(
                ctx["pool"],
                ctx["redis"],
                ctx["rail"],
                settings.queue_name,
                settings.reconcile_interval_ms,
                settings.reconcile_after_ms,
            )
        )

    return on_startup


async def _shutdown(ctx: dict[str, Any]) -> None:
    tasks = [ctx[name] for name in ("sweeper", "reconciler") if name in ctx]
    tasks += list(ctx.get("detached_deliveries", ()))
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if "http" in ctx:
        await ctx["http"].close()
    if "callback_http" in ctx:
        await ctx["callback_http"].close()
    if "pool" in ctx:
        await ctx["pool"].close()


def _job(function: Callable[[WorkerContext, str], Awaitable[None]]) -> WorkerCoroutine:
    """arq types a job's ctx as a plain dict; ours is that dict, typed (WorkerContext)."""
    return cast(WorkerCoroutine, function)


def _batch(function: Callable[[WorkerContext], Awaitable[None]]) -> WorkerCoroutine:
    """A batch job takes no argument: it claims its rows from the outbox."""
    return cast(WorkerCoroutine, function)


def create_worker(settings: Settings, *, handle_signals: bool = True) -> Worker:
    return _Worker(
        functions=[
            func(_job(submit_transfer), name=protocol.SUBMIT_TRANSFER, max_tries=SUBMIT_TRIES_MAX),
            func(_job(apply_outcome), name=protocol.APPLY_OUTCOME, max_tries=SUBMIT_TRIES_MAX),
            func(_batch(submit_batch), name=protocol.SUBMIT_BATCH, max_tries=SUBMIT_TRIES_MAX),
            func(_batch(apply_outcomes), name=protocol.APPLY_OUTCOMES, max_tries=SUBMIT_TRIES_MAX),
            func(_batch(deliver_batch), name=protocol.DELIVER_BATCH, max_tries=DELIVERY_TRIES_MAX),
            func(
                _job(deliver_callback),
                name=protocol.DELIVER_CALLBACK,
                max_tries=DELIVERY_TRIES_MAX,
            ),
        ],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=settings.queue_name,
        on_startup=_startup(settings),
        on_shutdown=_shutdown,
        max_jobs=settings.worker_max_jobs,
        job_timeout=settings.job_timeout_ms / 1000,
        # Results are not kept: PostgreSQL records what happened, and a kept result would
        # block the sweeper from re-enqueueing the same job id.
        keep_result=0,
        poll_delay=settings.worker_poll_delay_ms / 1000,
        handle_signals=handle_signals,
        job_completion_wait=SHUTDOWN_JOB_WAIT_S,
    )


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    create_worker(settings).run()
