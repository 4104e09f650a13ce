"""PostgreSQL connections and the schema's numbered migrations."""

from __future__ import annotations

import atexit
import collections
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from ledger.sql import QUERIES

Q = QUERIES["migrations"]

# A link to the repository's schema.sql (see pyproject.toml): the readable whole schema,
# which tests check against the end state of the migrations.
SCHEMA_PATH = Path(__file__).parent / "schema.sql"
# Ordered SQL files `NNNN_name.sql`; each runs once, in its own transaction.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# Several processes (API, workers) migrate when they start; one advisory lock makes them
# take turns instead of racing on the same statements.
SCHEMA_LOCK_KEY = 0x62616C6C  # "ball"

# A statement that runs longer than this is a bug or an overload; fail it rather than
# let requests pile up behind it.
STATEMENT_TIMEOUT_MS = 30_000
# How long a request waits for a connection from the pool before it is refused.
POOL_ACQUIRE_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0


# Profiling aid (bench/pipeline.py --query-counts): with BALLAST_QUERY_COUNTS set to a
# folder, every process counts the statements it sends, by query name, and writes them to
# `<folder>/<pid>.json` when it exits. Off by default: a logger costs a call per query.
QUERY_COUNTS_ENV = "BALLAST_QUERY_COUNTS"
_QUERY_NAMES = {
    sql: f"{aggregate}.{name}"
    for aggregate, named in QUERIES.items()
    for name, sql in named.items()
}
_query_counts: collections.Counter[str] = collections.Counter()


def _count_query(record: asyncpg.connection.LoggedQuery) -> None:
    _query_counts[_QUERY_NAMES.get(record.query, record.query.split(None, 1)[0].lower())] += 1


def _write_query_counts(folder: str) -> None:
    path = Path(folder) / f"{os.getpid()}.json"
    path.write_text(json.dumps(dict(_query_counts), indent=1, sort_keys=True))


if os.environ.get(QUERY_COUNTS_ENV):
    atexit.register(_write_query_counts, os.environ[QUERY_COUNTS_ENV])


async def _init_connection(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
    if os.environ.get(QUERY_COUNTS_ENV):
        connection.add_query_logger(_count_query)


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


async def ping(pool: asyncpg.Pool) -> None:
    """Raise unless PostgreSQL answers (the health check)."""
    assert await pool.fetchval(Q["ping"]) == 1


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped, in version order; versions are 1, 2, 3, ... with no gap."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        assert match is not None, f"migration file not named NNNN_name.sql: {path.name}"
        found.append(Migration(int(match[1]), match[2], path.read_text()))
    assert [m.version for m in found] == list(range(1, len(found) + 1)), found
    return found


async def migrate(pool: asyncpg.Pool, *, target_version: int | None = None) -> list[int]:
    """Bring the database to the newest migration (or `target_version`); returns the
    versions applied now. A database made by 0.1.0 (no schema_migrations table) starts at
    0: migration 1 is that release's idempotent schema, so it runs over it harmlessly."""
    applied_now: list[int] = []
    async with pool.acquire() as connection:
        async with connection.transaction():
            await connection.execute(Q["lock"], SCHEMA_LOCK_KEY)
            await connection.execute(Q["create_table"])
        for migration in migrations():
            if target_version is not None and migration.version > target_version:
                break
            async with connection.transaction():
                await connection.execute("SET LOCAL client_min_messages = warning")
                await connection.execute(Q["lock"], SCHEMA_LOCK_KEY)
                if await connection.fetchval(Q["is_applied"], migration.version):
                    continue
                await connection.execute(migration.sql)
                await connection.execute(Q["record"], migration.version, migration.name)
                applied_now.append(migration.version)
    return applied_now


async def schema_version(pool: asyncpg.Pool | asyncpg.Connection) -> int:
    version: int = await pool.fetchval(Q["version"])
    return version
