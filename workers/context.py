"""What every job finds in arq's `ctx`, opened once per worker process."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import aiohttp
import asyncpg
from arq.connections import ArqRedis

from config import Settings
from rails.client import RailClient


class WorkerContext(TypedDict):
    redis: ArqRedis
    job_try: int
    settings: Settings
    pool: asyncpg.Pool
    http: aiohttp.ClientSession
    # Callback deliveries only: connects to addresses callbacks/ssrf.py vetted.
    callback_http: aiohttp.ClientSession
    rail: RailClient
    # Per-callback delivery lanes of this worker process (see workers/deliveries.py).
    callback_lanes: dict[str, Any]
    # Deliveries a batch left to finish on their own (a slow receiver's); cancelled at
    # shutdown.
    detached_deliveries: set[asyncio.Task[None]]
