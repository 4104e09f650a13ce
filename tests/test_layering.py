"""`ledger/` is the only way into PostgreSQL, and the domain knows no queue library.

Read from the source (no database needed): a view or a job that runs a statement itself, or
reaches for the named queries, would spread the ledger's invariants over three packages."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from ledger import protocol
from ledger.ids import ID_TIME_HEX_DIGITS, PREFIXES
from ledger.sql import SQL_DIR

REPO = Path(__file__).resolve().parent.parent
# The packages that must go through the ledger for every database call.
OUTSIDE_LEDGER = ("api", "workers", "jobqueue", "dashboard")
# asyncpg's ways of running SQL, on a pool or a connection.
SQL_METHODS = re.compile(r"^(fetch|fetchrow|fetchval|execute|executemany|copy_\w+)$")
# Calls that are allowed anyway, as (file, method): each needs a reason. None today.
ALLOWED: dict[tuple[str, str], str] = {}
QUEUE_LIBRARIES = ("arq", "redis")


def _sources(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (REPO / package).rglob("*.py"))


def _sql_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        method = node.func.attr
        where = str(path.relative_to(REPO))
        if SQL_METHODS.match(method) and (where, method) not in ALLOWED:
            found.append(f"{where}:{node.lineno} .{method}()")
    return found


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_the_scan_finds_what_it_looks_for() -> None:
    """Guards the guard: a scan that found nothing anywhere would pass forever."""
    assert _sql_calls(REPO / "ledger" / "outbox.py")
    assert "ledger.sql.QUERIES" in _imports(REPO / "ledger" / "outbox.py")


@pytest.mark.parametrize("path", _sources(*OUTSIDE_LEDGER), ids=str)
def test_api_and_workers_run_no_sql_of_their_own(path: Path) -> None:
    assert _sql_calls(path) == []


@pytest.mark.parametrize("path", _sources(*OUTSIDE_LEDGER), ids=str)
def test_api_and_workers_do_not_import_the_named_queries(path: Path) -> None:
    assert [name for name in _imports(path) if name.startswith("ledger.sql")] == []


@pytest.mark.parametrize("path", _sources("ledger"), ids=str)
def test_the_domain_imports_no_queue_library(path: Path) -> None:
    imported = _imports(path)
    assert [n for n in imported if n.split(".")[0] in QUEUE_LIBRARIES] == []


@pytest.mark.parametrize("path", _sources("api", "jobqueue", "ledger"), ids=str)
def test_nothing_below_the_workers_imports_them(path: Path) -> None:
    assert [name for name in _imports(path) if name.split(".")[0] == "workers"] == []


@pytest.mark.parametrize("path", _sources("workers", "jobqueue", "ledger"), ids=str)
def test_nothing_but_the_api_imports_it(path: Path) -> None:
    assert [name for name in _imports(path) if name.split(".")[0] == "api"] == []


@pytest.mark.parametrize(
    "path", _sources("api", "workers", "jobqueue", "ledger", "callbacks", "config"), ids=str
)
def test_only_the_cli_imports_the_cli_package(path: Path) -> None:
    """`ballast/` (CLI, launcher) sits on top; settings live low, in `config/`."""
    assert [name for name in _imports(path) if name.split(".")[0] == "ballast"] == []


@pytest.mark.parametrize("path", _sources("config"), ids=str)
def test_the_settings_import_nothing_of_ours(path: Path) -> None:
    ours = {"api", "ballast", "callbacks", "jobqueue", "ledger", "rails", "workers"}
    assert [name for name in _imports(path) if name.split(".")[0] in ours] == []


def test_the_sql_that_writes_jobs_spells_the_protocol_names() -> None:
    """Job ids built in bulk by SQL must match those built in Python (ledger/protocol.py)."""
    events_sql = (SQL_DIR / "events.sql").read_text()
    callbacks_sql = (SQL_DIR / "callbacks.sql").read_text()
    outbox_sql = (SQL_DIR / "outbox.sql").read_text()
    separator = protocol.DELIVERY_JOB_SEPARATOR
    for sql in (events_sql, callbacks_sql):
        assert f"'{protocol.DELIVER_CALLBACK}'" in sql
        assert "delivery_id(" in sql
        assert f"|| '{separator}' ||" in sql
    assert f"'{protocol.SUBMIT_JOB_PREFIX}' || t.id, '{protocol.SUBMIT_TRANSFER}'" in outbox_sql
    # A delivery's callback, read off its job id (claim_due_sparing and its index).
    assert f"split_part(id, '{separator}', 1)" in outbox_sql
    assert f"split_part(id, '{separator}', 1)" in (REPO / "schema.sql").read_text()
    # Deliveries' ids, made by SQL (ledger/migrations/0012): the prefix, then an event id's
    # body (an event id is its prefix and then the time it was minted).
    migration = (REPO / "ledger" / "migrations" / "0012_time_ordered_delivery_ids.sql").read_text()
    assert f"'{protocol.DELIVERY_ID_PREFIX}' || substr(p_event_id, 3, 12)" in migration
    assert len(PREFIXES["event"]) == 2 and ID_TIME_HEX_DIGITS == 12
    jobs_named = set(re.findall(r"'([a-z_]+)', jsonb_build_object", events_sql + outbox_sql))
    jobs_named |= set(re.findall(r"'([a-z_]+)',\s*jsonb_build_object", callbacks_sql))
    assert jobs_named <= protocol.JOB_NAMES, jobs_named


def test_the_worker_runs_every_job_of_the_protocol(settings: Any) -> None:
    from workers.main import create_worker

    worker = create_worker(settings, handle_signals=False)
    assert set(worker.functions) == set(protocol.JOB_NAMES) | protocol.BATCH_NAMES
