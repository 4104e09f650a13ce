"""The test environment: real PostgreSQL and Redis, real services over loopback.

By default PostgreSQL and Valkey are embedded (started from PyPI wheels for this run and
removed after it). With `DATABASE_URL` / `REDIS_URL` set, the suite uses those servers,
isolated in a database of its own and a Redis database index of its own, both removed at
the end."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as redis_asyncio

from ballast.embedded import EmbeddedPostgres, EmbeddedValkey
from config import Settings, new_session_key
from ledger import audit, db
from tests.support.pipeline import Api, Pipeline, random_rail_secret, start_pipeline

# A Redis database index the suite may flush: never 0, which other tools use by default.
REDIS_DB_INDEX_RANGE = range(1, 16)


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    started: list[EmbeddedPostgres | EmbeddedValkey] = []
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    try:
        if not database_url:
            postgres = EmbeddedPostgres(fast=True)
            started.append(postgres)
            database_url = postgres.start()
        if not redis_url:
            valkey = EmbeddedValkey()
            started.append(valkey)
            redis_url = valkey.start()
        yield Servers(database_url, redis_url)
    finally:
        for server in reversed(started):
            server.stop()


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


@pytest.fixture(scope="session")
async def database_url(servers: Servers) -> AsyncIterator[str]:
    """A database of this run's own, with the schema applied; dropped at the end."""
    name = f"ballast_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(servers.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_path(servers.database_url, f"/{name}")
        pool = await db.create_pool(url, min_size=1, max_size=1)
        await db.migrate(pool)
        await pool.close()
        yield url
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def redis_url(servers: Servers) -> AsyncIterator[str]:
    """A Redis database index of this run's own, flushed before and after."""
    index = secrets.choice(REDIS_DB_INDEX_RANGE) if os.environ.get("REDIS_URL") else 0
    url = _with_path(servers.redis_url, f"/{index}")
    client = redis_asyncio.from_url(url)
    await client.flushdb()
    yield url
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        queue_name=f"ballast-test:{secrets.token_hex(4)}",
        worker_poll_delay_ms=10,
        sweep_interval_ms=100,
        outbox_stale_after_ms=500,
        callbacks_allow_private=True,
        callback_timeout_ms=500,
        callback_retry_schedule_ms=[50, 100, 200],
        callback_concurrency_max=4,
        # Every test creates a marketplace, all from 127.0.0.1: far above the production
        # bound, which tests/test_api_key_limit.py proves on an API of its own.
        rate_limit_new_api_keys_per_min=100_000,
        # Secrets have no defaults (config/__init__.py): each run makes its own.
        rail_secret=random_rail_secret(),
        fingerprint_key=secrets.token_urlsafe(32),
        session_key=new_session_key(),
    )


@pytest.fixture(scope="session")
async def pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=5)
    running = await start_pipeline(settings, pool)
    yield running
    await running.close()


@dataclass(frozen=True)
class Marketplace:
    id: str
    secret: str
    owner_customer_id: str
    api: Api


@pytest.fixture
async def marketplace(pipeline: Pipeline) -> AsyncIterator[Marketplace]:
    """A fresh marketplace and its key; the ledger must audit clean after the test."""
    key = await pipeline.api.post("/api_keys")
    assert key.status == 201, key.body
    secret = key.body["api_keys"][0]["secret"]
    api = pipeline.api.as_key(secret)
    created = await api.post("/marketplaces", {})
    assert created.status == 201, created.body
    item = created.body["marketplaces"][0]
    yield Marketplace(item["id"], secret, item["links"]["owner_customer"], api)
    assert await audit.violations(pipeline.pool) == []
