"""Named SQL (`ledger.sql.parse`) and the order of migrations (`ledger.db.migrations`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import db
from ledger.sql import QUERIES, parse


def test_named_queries_are_split_at_their_headers_and_trimmed() -> None:
    text = (
        "-- name: first\n-- The first one.\nSELECT 1;\n\n"
        "-- name: second_one\nSELECT $1::int\n  FROM t;\n"
    )
    assert parse(text) == {
        "first": "-- The first one.\nSELECT 1;",
        "second_one": "SELECT $1::int\n  FROM t;",
    }


def test_text_before_the_first_header_belongs_to_no_query() -> None:
    assert parse("-- The file's comment.\n-- name: only\nSELECT 1\n") == {"only": "SELECT 1"}


def test_a_query_defined_twice_is_refused() -> None:
    with pytest.raises(AssertionError, match="defined twice"):
        parse("-- name: q\nSELECT 1\n-- name: q\nSELECT 2\n")


def test_an_empty_query_is_refused() -> None:
    with pytest.raises(AssertionError, match="empty"):
        parse("-- name: q\n\n-- name: r\nSELECT 1\n")


def test_a_header_must_stand_alone_on_its_line() -> None:
    assert parse("SELECT 1 -- name: q\n") == {}
    assert parse("-- name: q\nSELECT 1 -- name: not_a_header\n") == {
        "q": "SELECT 1 -- name: not_a_header"
    }


def test_every_shipped_sql_file_has_named_queries() -> None:
    assert QUERIES, "ledger/sql holds the queries"
    assert all(queries for queries in QUERIES.values())


def _write(directory: Path, *names: str) -> None:
    for name in names:
        (directory / name).write_text(f"-- {name}\n")


def test_migrations_come_in_version_order_whatever_the_directory_lists_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "0010_tenth.sql", "0002_second.sql", "0001_initial.sql")
    _write(tmp_path, *(f"{n:04d}_step_{n}.sql" for n in range(3, 10)))
    monkeypatch.setattr(db, "MIGRATIONS_DIR", tmp_path)
    found = db.migrations()
    assert [m.version for m in found] == list(range(1, 11))
    assert (found[0].name, found[0].sql) == ("initial", "-- 0001_initial.sql\n")
    assert found[-1].name == "tenth"


def test_a_gap_in_the_migration_versions_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "0001_initial.sql", "0003_third.sql")
    monkeypatch.setattr(db, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(AssertionError):
        db.migrations()


@pytest.mark.parametrize("name", ["1_short.sql", "0002-dash.sql", "0002_Upper.sql"])
def test_a_migration_file_named_otherwise_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    _write(tmp_path, "0001_initial.sql", name)
    monkeypatch.setattr(db, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(AssertionError, match=r"NNNN_name\.sql"):
        db.migrations()


def test_the_shipped_migrations_start_at_one_with_no_gap() -> None:
    versions = [m.version for m in db.migrations()]
    assert versions[0] == 1
    assert versions == list(range(1, len(versions) + 1))
