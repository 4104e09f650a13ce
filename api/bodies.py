"""Reading requests: JSON bodies (flat or enveloped), references, pagination."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from ledger.errors import RequestInvalid

Model = TypeVar("Model", bound=pydantic.BaseModel)

# A page holds at most this many items: bounds the work and the response of one request.
PAGE_LIMIT_MAX = 100
PAGE_LIMIT_DEFAULT = 10
# Offsets beyond this are refused: deep OFFSET scans are a cheap way to load the database.
PAGE_OFFSET_MAX = 100_000
ID_PATTERN = re.compile(r"^[A-Z-]{2,7}[a-zA-Z0-9]{16,32}$")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}`."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise RequestInvalid(f"The request body is not valid JSON: {error}.") from error
    if not isinstance(body, dict):
        raise RequestInvalid("The request body must be a JSON object.")
    return body


def unwrap(body: dict[str, Any], plural: str) -> dict[str, Any]:
    """Accept Balanced's envelope `{"credits": [{...}]}` as well as a flat object."""
    inner = body.get(plural)
    if isinstance(inner, list) and len(inner) == 1 and isinstance(inner[0], dict):
        return inner[0]
    return body


def _describe(error: pydantic.ValidationError) -> tuple[str, dict[str, str]]:
    extras: dict[str, str] = {}
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "body"
        extras.setdefault(field, item["msg"])
    fields = ", ".join(f"[{name}] {message}" for name, message in extras.items())
    return f"Invalid field(s): {fields}.", extras


async def parse(request: web.Request, model: type[Model], plural: str) -> Model:
    body = unwrap(await read_json(request), plural)
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as error:
        description, extras = _describe(error)
        raise RequestInvalid(description, extras=extras) from error


def reference(value: str, collection: str, prefix: str) -> str:
    """An id from `OR…` or `/orders/OR…`."""
    identifier = value.removeprefix(f"/{collection}/")
    if not identifier.startswith(prefix) or not ID_PATTERN.match(identifier):
        raise ValueError(f"must be a {collection} id or href")
    return identifier


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise RequestInvalid(
            f"Invalid field [{name}]: must be an integer from {low} to {high}.",
            extras={name: text[:64]},
        )
    return int(text)


def page(request: web.Request) -> tuple[int, int]:
    """(limit, offset) from the query string, bounded."""
    limit = _int_param(request, "limit", PAGE_LIMIT_DEFAULT, 1, PAGE_LIMIT_MAX)
    offset = _int_param(request, "offset", 0, 0, PAGE_OFFSET_MAX)
    return limit, offset


def page_meta(path: str, limit: int, offset: int, total: int) -> dict[str, Any]:
    def href(at: int) -> str:
        return f"{path}?limit={limit}&offset={at}"

    last = max(0, (total - 1) // limit * limit)
    return {
        "first": href(0),
        "href": href(offset),
        "last": href(last),
        "next": href(offset + limit) if offset + limit < total else None,
        "previous": href(max(0, offset - limit)) if offset > 0 else None,
        "limit": limit,
        "offset": offset,
        "total": total,
    }
