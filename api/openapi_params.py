"""The parameters of the OpenAPI document's operations (api/openapi.py): the ids in paths,
the pagination and filters of lists, and the `Idempotency-Key` header of POSTs, each
described from the constants the API validates them with."""

from __future__ import annotations

from typing import Any

from api import idempotency, parsing, response_models
from ledger import ids, wire
from ledger.money import AMOUNT_CENTS_MAX

MOMENT = {"type": "string", "format": "date-time"}
TRANSFER_PLURALS = frozenset(wire.TRANSACTION_TYPES.values())
# Collections whose path `{id}` may be any resource (dispatched on the id's prefix).
ANY_RESOURCE_KINDS = (
    "customer",
    "bank_account",
    "card",
    "order",
    "account",
    "debit",
    "credit",
    "refund",
    "reversal",
    "settlement",
    "card_hold",
    "bank_account_verification",
    "dispute",
    "marketplace",
    "event",
    "callback",
    "api_key",
)


def id_pattern(collection: str) -> str | None:
    """The id format of a collection's items, when ids are ours."""
    if collection == "resources":
        prefixes = [ids.PREFIXES[kind] for kind in ANY_RESOURCE_KINDS]
        return f"^({'|'.join(prefixes)})[a-zA-Z0-9]{{16,32}}$"
    kind = collection.removesuffix("s")
    if collection == "verifications":
        kind = "bank_account_verification"
    return response_models.id_pattern(kind) if kind in ids.PREFIXES else None


def path_parameters(path: str) -> list[dict[str, Any]]:
    segments = path.strip("/").split("/")
    parameters = []
    for before, segment in zip(["", *segments], segments, strict=False):
        if not segment.startswith("{"):
            continue
        schema: dict[str, Any] = {"type": "string"}
        pattern = id_pattern(before)
        if pattern is not None:
            schema["pattern"] = pattern
        parameters.append(
            {
                "name": segment.strip("{}"),
                "in": "path",
                "required": True,
                "description": f"The id of one of {before}.",
                "schema": schema,
            }
        )
    return parameters


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _range_filters(field: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    meanings = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}
    return [
        _query(f"{field}[{operator}]", schema, f"Only those whose {field} is {meaning} this.")
        for operator, meaning in meanings.items()
    ]


def query_parameters(plural: str) -> list[dict[str, Any]]:
    """Pagination on every list; the filters of the lists that have them."""
    limit = {"type": "integer", "minimum": 1, "maximum": parsing.PAGE_LIMIT_MAX}
    offset = {"type": "integer", "minimum": 0, "maximum": parsing.PAGE_OFFSET_MAX}
    parameters = [
        _query("limit", limit, f"Items per page (default {parsing.PAGE_LIMIT_DEFAULT})."),
        _query("offset", offset, "Items to skip."),
    ]
    if plural in TRANSFER_PLURALS:
        parameters += _transfer_filters()
    if plural == "card_holds":
        voided = {"type": "string", "enum": ["true", "false"]}
        parameters.append(_query("is_void", voided, "`true` lists voided holds too."))
    if plural == "events":
        parameters += [
            _query("type", {"type": "string", "maxLength": 64}, "Only events of this type."),
            _query("type[in]", {"type": "string"}, "Only events of these comma-separated types."),
            *_range_filters("occurred_at", MOMENT),
        ]
    return parameters


def _transfer_filters() -> list[dict[str, Any]]:
    names = "|".join(sorted(parsing.STATUSES))
    status = {"type": "string", "enum": sorted(parsing.STATUSES)}
    statuses = {"type": "string", "pattern": f"^({names})(,({names}))*$"}
    amount = {"type": "integer", "minimum": 0, "maximum": AMOUNT_CENTS_MAX}
    return [
        _query(
            "status",
            status,
            "Only those in this status (failed ones are hidden unless a status filter names them).",
        ),
        _query("status[in]", statuses, "Only those in one of these comma-separated statuses."),
        _query("amount", amount, "Only those of exactly this amount, in cents."),
        *_range_filters("amount", amount),
        *_range_filters("created_at", MOMENT),
        _query("sort", {"type": "string", "enum": sorted(parsing.SORTS)}, "The order of items."),
    ]


def idempotency_header() -> dict[str, Any]:
    return {
        "name": idempotency.HEADER,
        "in": "header",
        "required": False,
        "description": "Makes the POST safe to retry: the first response is replayed for "
        "the same request, 422 for a different one, 409 while the first is still running.",
        "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_LENGTH_MAX},
    }
