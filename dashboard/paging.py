"""Pages of a list: read `limit` and `offset` from the query string (anything malformed
falls back to the first page rather than an error), and the links of the pagination
macro."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from dashboard import context

LIMIT_DEFAULT = 25
LIMIT_MAX = 100
OFFSET_MAX = 10_000_000
# A search is a few words or an id; longer text is cut, not refused.
SEARCH_CHARS_MAX = 200

# A ledger search: (pool, marketplace id, text or None, limit, offset) → (rows, total).
Find = Callable[[asyncpg.Pool, str, str | None, int, int], Awaitable[tuple[list[Any], int]]]


def _int(text: str | None, default: int, low: int, high: int) -> int:
    if text is None or not text.isdigit() or len(text) > len(str(high)):
        return default
    return min(max(int(text), low), high)


def limits(request: web.Request, default: int = LIMIT_DEFAULT) -> tuple[int, int]:
    """(limit, offset) asked for by the query string."""
    limit = _int(request.query.get("limit"), default, 1, LIMIT_MAX)
    offset = _int(request.query.get("offset"), 0, 0, OFFSET_MAX)
    return limit, offset


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    total: int
    previous_url: str | None
    next_url: str | None

    @property
    def first(self) -> int:
        """The 1-based number of the page's first row (0 on an empty list)."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)


def page(request: web.Request, limit: int, offset: int, total: int) -> Page:
    """The page shown, with links to its neighbours (the other query parameters kept)."""

    def at(new_offset: int) -> str:
        return str(request.rel_url.update_query(offset=str(new_offset), limit=str(limit)))

    previous_url = at(max(offset - limit, 0)) if offset > 0 else None
    next_url = at(offset + limit) if offset + limit < total else None
    return Page(limit, offset, total, previous_url, next_url)


def search_text(request: web.Request) -> str:
    return request.query.get("q", "").strip()[:SEARCH_CHARS_MAX]


async def searched(request: web.Request, find: Find) -> dict[str, Any]:
    """A searchable list's template values: `rows` (one page of what `find` matches the
    query's `q`, or everything), `search` and `page`."""
    search = search_text(request)
    limit, offset = limits(request)
    rows, total = await find(
        context.pool(request), context.marketplace_id(request), search or None, limit, offset
    )
    return {"rows": rows, "search": search, "page": page(request, limit, offset, total)}
