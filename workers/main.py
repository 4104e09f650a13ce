"""The arq worker: its settings, its resources and its entry point."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
from arq import Worker
from arq.connections import RedisSettings
from arq.worker import func

from ballast.settings import Settings
from ledger import db
from rails.client import HttpRailClient
from workers.deliveries import deliver_callback
from workers.sweeper import sweep_forever
from workers.transfers import apply_outcome, submit_transfer

# A job that runs longer than this is presumed stuck. arq re-runs a crashed job only after
# this + 10 s, so it is kept short: the longest job is one callback attempt (10 s timeout).
JOB_TIMEOUT_S = 60
# Retries through arq; past them the job fails in arq but its outbox row stays open, so
# the sweeper will enqueue it again later. Nothing is given up by arq alone.
SUBMIT_TRIES_MAX = 50
DELIVERY_TRIES_MAX = 50
# How many HTTP connections one worker keeps open to callback receivers and the rail.
HTTP_CONNECTIONS_MAX = 100


def _startup(settings: Settings) -> Any:
    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["settings"] = settings
        ctx["pool"] = await db.create_pool(
            settings.database_url, min_size=1, max_size=settings.db_pool_max_size
        )
        await db.apply_schema(ctx["pool"])
        ctx["http"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS_MAX)
        )
        ctx["rail"] = HttpRailClient(settings.rail_url, ctx["http"])
        ctx["callback_lanes"] = {}
        ctx["sweeper"] = asyncio.create_task(
            sweep_forever(
                ctx["redis"],
                ctx["pool"],
                settings.queue_name,
                settings.sweep_interval_ms,
                settings.outbox_stale_after_ms,
            )
        )

    return on_startup


async def _shutdown(ctx: dict[str, Any]) -> None:
    sweeper = ctx.get("sweeper")
    if sweeper is not None:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
    if "http" in ctx:
        await ctx["http"].close()
    if "pool" in ctx:
        await ctx["pool"].close()


def create_worker(settings: Settings, *, handle_signals: bool = True) -> Worker:
    return Worker(
        functions=[
            func(submit_transfer, max_tries=SUBMIT_TRIES_MAX),
            func(apply_outcome, max_tries=SUBMIT_TRIES_MAX),
            func(deliver_callback, max_tries=DELIVERY_TRIES_MAX),
        ],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=settings.queue_name,
        on_startup=_startup(settings),
        on_shutdown=_shutdown,
        max_jobs=settings.worker_max_jobs,
        job_timeout=JOB_TIMEOUT_S,
        # Results are not kept: PostgreSQL records what happened, and a kept result would
        # block the sweeper from re-enqueueing the same job id.
        keep_result=0,
        poll_delay=settings.worker_poll_delay_ms / 1000,
        handle_signals=handle_signals,
    )


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    create_worker(settings).run()
