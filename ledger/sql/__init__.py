"""Named SQL, one file per aggregate.

Each query in `<aggregate>.sql` starts with `-- name: <name>` and a one-line description;
Python refers to queries only by name (`QUERIES["orders"]["get"]`) and passes positional
asyncpg parameters. No SQL is built from strings anywhere else."""

from __future__ import annotations

import re
from pathlib import Path

_HEADER = re.compile(r"^-- name: ([a-z_]+)\s*$", re.MULTILINE)
SQL_DIR = Path(__file__).parent


def parse(text: str) -> dict[str, str]:
    """Split a file of named queries into {name: sql}."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        assert name not in queries, f"query {name} defined twice"
        sql = body.strip()
        assert sql, f"query {name} is empty"
        queries[name] = sql
    return queries


def _load_all() -> dict[str, dict[str, str]]:
    return {path.stem: parse(path.read_text()) for path in sorted(SQL_DIR.glob("*.sql"))}


QUERIES: dict[str, dict[str, str]] = _load_all()
