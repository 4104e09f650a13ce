"""Reading requests: JSON bodies (flat or enveloped), references, pagination."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, TypeVar

import pydantic
from aiohttp import web

from api.errors import Handler
from ledger.errors import NotFound, RequestInvalid

Model = TypeVar("Model", bound=pydantic.BaseModel)

# A page holds at most this many items: bounds the work and the response of one request.
PAGE_LIMIT_MAX = 100
PAGE_LIMIT_DEFAULT = 10
# Offsets beyond this are refused: deep OFFSET scans are a cheap way to load the database.
PAGE_OFFSET_MAX = 100_000
# Longest decimal number a query parameter may carry: bigint holds 18 digits, and no limit,
# offset or amount needs more than 13.
DECIMAL_DIGITS_MAX = 18
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
    except RecursionError as error:
        raise RequestInvalid("The request body is nested too deeply.") from error
    if not isinstance(body, dict):
        raise RequestInvalid("The request body must be a JSON object.")
    refuse_unstorable_text(body)
    return body


def storable(text: str) -> bool:
    """Whether PostgreSQL can store the text: no NUL character, and valid UTF-8 (JSON may
    spell a lone surrogate, `"\\ud800"`, which no UTF-8 string holds)."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def refuse_unstorable_text(body: Any) -> None:
    """Refuse, with a 400, a body holding a string (key or value) that the database would
    reject later with an error of its own."""
    pending: list[Any] = [body]
    while pending:  # Bounded by the body's size (REQUEST_BODY_BYTES_MAX).
        value = pending.pop()
        if isinstance(value, dict):
            pending += value.keys()
            pending += value.values()
        elif isinstance(value, list):
            pending += value
        elif isinstance(value, str) and not storable(value):
            raise RequestInvalid(
                "The request body holds a NUL character or a lone surrogate in a string."
            )


@web.middleware
async def text_guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse text that PostgreSQL cannot store before a handler puts it in a query: a path
    id holding a NUL names nothing (404), and such a query parameter is malformed (400)."""
    if not all(storable(value) for value in request.match_info.values()):
        raise NotFound("The requested resource could not be found.")
    for key, value in request.query.items():
        if not (storable(key) and storable(value)):
            raise RequestInvalid("A query parameter holds a NUL character or a lone surrogate.")
    return await handler(request)


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
    return validate(model, unwrap(await read_json(request), plural))


def validate(model: type[Model], body: Any) -> Model:
    """`body` as `model`, or a 400 naming every field in error."""
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


def decimal(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also takes `²`, which `int` refuses), and few enough
    that the number fits a bigint column and `int()` parses it cheaply."""
    return text.isascii() and text.isdigit() and len(text) <= DECIMAL_DIGITS_MAX


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None:
        return default
    if not decimal(text) or not low <= int(text) <= high:
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


# Balanced's filter operators (`amount[>=]=100`) and the bound each one sets.
_LOWER_OPERATORS = {"": 0, ">=": 0, ">": 1}
_UPPER_OPERATORS = {"": 0, "<=": 0, "<": -1}
SORTS = frozenset({"created_at,asc", "created_at,desc", "amount,asc", "amount,desc"})
STATUSES = frozenset({"pending", "succeeded", "failed"})


def _amount_bounds(request: web.Request) -> tuple[int | None, int | None]:
    low: int | None = None
    high: int | None = None
    for key, value in request.query.items():
        if not key.startswith("amount"):
            continue
        operator = key.removeprefix("amount").strip("[]")
        if not decimal(value) or operator not in _LOWER_OPERATORS | _UPPER_OPERATORS:
            raise RequestInvalid(f"Invalid filter [{key}].", extras={key: value[:64]})
        if operator in _LOWER_OPERATORS:
            low = int(value) + _LOWER_OPERATORS[operator]
        if operator in _UPPER_OPERATORS:
            high = int(value) + _UPPER_OPERATORS[operator]
    return low, high


def _moment(key: str, value: str) -> datetime:
    """An ISO-8601 time (naive ones are UTC), in UTC: a time near year 1 or 9999 may have
    no UTC equivalent that Python can represent, and is refused like a malformed one."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise RequestInvalid(f"Invalid filter [{key}].", extras={key: value[:64]}) from error


def time_bounds(request: web.Request, field: str) -> tuple[datetime | None, datetime | None]:
    """`<field>[>=]=…` and `<field>[<=]=…` (ISO-8601) as a range; open ends are None."""
    low: datetime | None = None
    high: datetime | None = None
    for key, value in request.query.items():
        if not key.startswith(field):
            continue
        operator = key.removeprefix(field).strip("[]")
        moment = _moment(key, value)
        if operator in (">", ">="):
            low = moment
        elif operator in ("<", "<="):
            high = moment
        else:
            raise RequestInvalid(f"Invalid filter [{key}].", extras={key: value[:64]})
    return low, high


def statuses(request: web.Request) -> tuple[str, ...]:
    """`status=failed` or `status[in]=pending,failed`; by default failed ones are hidden."""
    wanted = request.query.get("status") or request.query.get("status[in]")
    if wanted is None:
        return ("pending", "succeeded")
    chosen = tuple(wanted.split(","))
    if not set(chosen) <= STATUSES:
        raise RequestInvalid(
            "Invalid filter [status]: pending, succeeded or failed.", extras={"status": wanted[:64]}
        )
    return chosen


def list_filters(request: web.Request) -> dict[str, Any]:
    """The filters of a transfer list, as keyword arguments of `transfers.ListQuery`."""
    amount_min, amount_max = _amount_bounds(request)
    created_after, created_before = time_bounds(request, "created_at")
    sort = request.query.get("sort", "created_at,asc")
    if sort not in SORTS:
        raise RequestInvalid(
            f"Invalid sort: one of {', '.join(sorted(SORTS))}.", extras={"sort": sort[:64]}
        )
    return {
        "statuses": statuses(request),
        "amount_cents_min": amount_min,
        "amount_cents_max": amount_max,
        "created_after": created_after,
        "created_before": created_before,
        "sort": sort,
    }
