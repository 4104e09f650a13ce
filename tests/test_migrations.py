"""Numbered migrations: a database of the previous release upgrades without losing a row,
every migration runs once, and `schema.sql` describes exactly what the migrations build."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from ballast import cli
from ledger import audit, db
from tests.conftest import Servers

FIXTURES = Path(__file__).parent / "fixtures" / "release_0_1_0"
SCHEMA_PATH = Path(__file__).parent.parent / "schema.sql"
TABLES_0_1_0 = (
    "marketplaces",
    "customers",
    "accounts",
    "bank_accounts",
    "orders",
    "ledger_accounts",
    "transactions",
    "ledger_postings",
    "ledger_lines",
    "events",
    "outbox",
)
# What the catalog says of a schema, object by object, in a form two databases share.
CATALOG = {
    "columns": """
        SELECT table_name || '.' || column_name,
               concat_ws(' ', data_type, is_nullable, column_default, generation_expression)
        FROM information_schema.columns WHERE table_schema = 'public'""",
    "constraints": """
        SELECT conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "functions": """
        SELECT proname, md5(prosrc) FROM pg_proc WHERE pronamespace = 'public'::regnamespace""",
    "triggers": """
        SELECT tgrelid::regclass || '.' || tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE NOT tgisinternal""",
}
NOT_IN_SCHEMA_SQL = ("schema_migrations",)

Scratch = Callable[[], Awaitable[asyncpg.Pool]]
# The URL of each scratch database, by its pool.
SCRATCH_URLS: dict[asyncpg.Pool, str] = {}


@pytest.fixture
async def scratch(servers: Servers) -> AsyncIterator[Scratch]:
    """Empty databases of this test's own, dropped at its end."""
    admin = await asyncpg.connect(servers.database_url)
    made: list[tuple[str, asyncpg.Pool]] = []

    async def make() -> asyncpg.Pool:
        name = f"ballast_scratch_{secrets.token_hex(6)}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(servers.database_url)._replace(path=f"/{name}"))
        pool = await db.create_pool(url, min_size=1, max_size=2)
        made.append((name, pool))
        SCRATCH_URLS[pool] = url
        return pool

    try:
        yield make
    finally:
        for name, pool in made:
            SCRATCH_URLS.pop(pool)
            await pool.close()
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def _release_0_1_0(pool: asyncpg.Pool, *row_files: str) -> None:
    """A database as 0.1.0 left it: its schema applied the way it applied it (no record of
    migrations), and rows it wrote."""
    await pool.execute(db.migrations()[0].sql)
    for name in row_files:
        await pool.execute((FIXTURES / name).read_text())


async def _catalog(pool: asyncpg.Pool) -> dict[str, dict[str, str]]:
    catalog = {}
    for kind, query in CATALOG.items():
        rows = await pool.fetch(query)
        catalog[kind] = {
            row[0]: row[1]
            for row in rows
            if not any(str(row[0]).startswith(skip) for skip in NOT_IN_SCHEMA_SQL)
        }
    return catalog


async def test_schema_sql_describes_what_the_migrations_build(scratch: Scratch) -> None:
    migrated, described = await scratch(), await scratch()
    await db.migrate(migrated)
    await described.execute(SCHEMA_PATH.read_text())
    from_migrations, from_schema_sql = await _catalog(migrated), await _catalog(described)
    for kind in CATALOG:
        assert from_migrations[kind], kind
        assert from_migrations[kind] == from_schema_sql[kind], kind


async def test_migrating_twice_applies_each_migration_once(scratch: Scratch) -> None:
    pool = await scratch()
    versions = [m.version for m in db.migrations()]
    assert await db.migrate(pool) == versions
    assert await db.migrate(pool) == []
    assert await db.schema_version(pool) == versions[-1]


async def test_a_0_1_0_database_upgrades_and_keeps_its_rows(scratch: Scratch) -> None:
    pool = await scratch()
    await _release_0_1_0(pool, "rows.sql")
    counts = {table: await pool.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES_0_1_0}
    # Finished jobs are not kept (migration 0013): only open ones stay.
    counts["outbox"] = await pool.fetchval("SELECT count(*) FROM outbox WHERE done_at IS NULL")
    balances = dict(await pool.fetch("SELECT id, balance_cents FROM ledger_accounts"))
    await db.migrate(pool)
    assert await db.schema_version(pool) == db.migrations()[-1].version
    for table, count in counts.items():
        expected = count + (1 if table == "ledger_accounts" else 0)  # The new shortfall.
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == expected, table
    after = dict(await pool.fetch("SELECT id, balance_cents FROM ledger_accounts"))
    assert after == balances | {"MPold:shortfall": 0}
    facts = {
        row["id"]: (row["succeeded_at"] is not None, row["failed_at"] is not None)
        for row in await pool.fetch("SELECT id, succeeded_at, failed_at FROM transactions")
    }
    # The late return is recognisable as one: it had succeeded before it failed.
    assert facts["CRreturned"] == (True, True)
    assert facts["CRpaid"] == (True, False)
    # Destination kinds come from the table that holds the destination, not its id.
    kinds = dict(await pool.fetch("SELECT id, destination_kind FROM transactions"))
    assert kinds == {
        "WDold": None,
        "CRpaid": "bank_account",
        "CRreturned": "bank_account",
        "CRpayable": "account",
        "RVpaid": None,
    }
    assert await audit.violations(pool) == []


async def test_audit_fails_on_an_upgraded_database_that_counted_a_credit_twice(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = await scratch()
    await _release_0_1_0(pool, "rows.sql", "double_count.sql")
    await db.migrate(pool)
    found = await audit.violations(pool)
    assert any(line.startswith("money counted twice") and "CRtwice" in line for line in found)
    monkeypatch.setenv("DATABASE_URL", SCRATCH_URLS[pool])
    assert await asyncio.to_thread(cli.main, ["audit"]) == 1
    assert "money counted twice" in capsys.readouterr().err


async def test_ballast_migrate_brings_an_empty_database_to_the_newest_version(
    scratch: Scratch, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = await scratch()
    monkeypatch.setenv("DATABASE_URL", SCRATCH_URLS[pool])
    assert await asyncio.to_thread(cli.main, ["migrate"]) == 0
    newest = db.migrations()[-1].version
    assert f"at version {newest}" in capsys.readouterr().out
    assert await db.schema_version(pool) == newest
