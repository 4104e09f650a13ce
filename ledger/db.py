"""PostgreSQL connections and the schema."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

# A link to the repository's schema.sql (see pyproject.toml), so installed packages have it.
SCHEMA_PATH = Path(__file__).parent / "schema.sql"

# Several processes (API, workers) apply the schema when they start; one advisory lock
# makes them take turns instead of racing on CREATE statements.
SCHEMA_LOCK_KEY = 0x62616C6C  # "ball"

# A statement that runs longer than this is a bug or an overload; fail it rather than
# let requests pile up behind it.
STATEMENT_TIMEOUT_MS = 30_000
# How long a request waits for a connection from the pool before it is refused.
POOL_ACQUIRE_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0


async def _init_connection(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Released connections are not reset: nothing here changes session state (locks are
    transaction-scoped, settings are SET LOCAL, nobody LISTENs), and the default reset
    costs a round trip on every release."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        timeout=CONNECT_TIMEOUT_S,
        command_timeout=STATEMENT_TIMEOUT_MS / 1000,
        server_settings={"statement_timeout": str(STATEMENT_TIMEOUT_MS)},
    )
    assert pool is not None
    return pool


async def apply_schema(pool: asyncpg.Pool) -> None:
    """Bring the database to `schema.sql`; every statement in it is idempotent."""
    schema_sql = SCHEMA_PATH.read_text()
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SET LOCAL client_min_messages = warning")
        await connection.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_KEY)
        await connection.execute(schema_sql)
