"""Changing customers, cards and bank accounts: PUT and PATCH (a plain object or a JSON
Patch), DELETE (unstore), and tokenizing an instrument under a customer."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pydantic
from aiohttp import web

from api import patch
from api.appkeys import SETTINGS
from api.auth import marketplace_id
from api.errors import Handler
from api.parsing import parse, read_json, refuse_unstorable_text, unwrap, validate
from api.request_models import (
    BankAccountCreate,
    BankAccountUpdate,
    CardCreate,
    CardUpdate,
    CustomerUpdate,
    JsonPatch,
    PatchOperation,
)
from api.views.common import after_commit, one, transaction
from ledger import customers, instruments, wire
from ledger.errors import RequestInvalid
from ledger.outbox import Job

# Per collection: how the API shows one row, and how it reads one.
SHOWN = {
    "customers": (wire.customer, instruments.get_customer),
    "cards": (wire.card, instruments.get_card),
    "bank_accounts": (wire.bank_account, instruments.get_bank_account),
}
UPDATES: dict[str, type[pydantic.BaseModel]] = {
    "customers": CustomerUpdate,
    "cards": CardUpdate,
    "bank_accounts": BankAccountUpdate,
}


async def _patch_body(request: web.Request) -> list[PatchOperation] | dict[str, Any]:
    """A JSON Patch (an array of operations), or a plain object (then PATCH is a PUT)."""
    raw = await request.read()
    if raw.strip().startswith(b"["):
        try:
            operations = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise RequestInvalid("The request body is not valid JSON.") from error
        refuse_unstorable_text(operations)
        try:
            return JsonPatch.model_validate(operations).root
        except pydantic.ValidationError as error:
            raise RequestInvalid(
                "Invalid JSON Patch.", extras={"body": str(error.errors()[0]["msg"])}
            ) from error
    return await read_json(request)


def _changes(
    plural: str,
    before: dict[str, Any],
    after: dict[str, Any],
    operations: list[PatchOperation],
) -> dict[str, Any]:
    """What a patch changed of an item, as the body of a PUT: the fields whose value
    differs (None for one removed), and the links that differ or that an operation wrote
    (naming the implicit default source makes it the named one)."""
    changed = {
        key: after.get(key)
        for key in before.keys() | after.keys()
        if key != "links" and before.get(key) != after.get(key)
    }
    links_before, links_after = before.get("links") or {}, after.get("links")
    if not isinstance(links_after, dict):
        raise RequestInvalid("`links` must stay an object.", extras={"links": "object"})
    prefix = f"/{plural}/0/links/"
    written = {
        o.path.removeprefix(prefix).split("/")[0]
        for o in operations
        if o.op != "test" and o.path.startswith(prefix)
    }
    changed["links"] = {
        key: links_after.get(key)
        for key in links_before.keys() | links_after.keys()
        if links_before.get(key) != links_after.get(key) or key in written
    }
    return changed


def updater(plural: str) -> Handler:
    """`PUT` and `PATCH /<plural>/{id}` of customers, cards or bank accounts."""
    render, read = SHOWN[plural]
    model = UPDATES[plural]

    async def update(request: web.Request) -> web.Response:
        mp, resource_id = marketplace_id(request), request.match_info["id"]
        if request.method == "PUT":
            body: list[PatchOperation] | dict[str, Any] = await read_json(request)
        else:
            body = await _patch_body(request)
        async with transaction(request) as connection:
            cleared: set[str] = set()
            if isinstance(body, list):
                before = render(await read(connection, mp, resource_id))
                after = patch.apply({plural: [before]}, body).get(plural)
                if not (isinstance(after, list) and len(after) == 1 and isinstance(after[0], dict)):
                    raise RequestInvalid(f"A patch must leave one item in `{plural}`.")
                changes = _changes(plural, before, after[0], body)
                cleared = {key for key, value in changes["links"].items() if value is None}
                fields = validate(model, changes)
            else:
                fields = validate(model, unwrap(body, plural))
            row, jobs = await _write(connection, plural, mp, resource_id, fields, cleared)
        await after_commit(request, jobs)
        return one(plural, render(row))

    return update


async def _write(
    connection: asyncpg.Connection,
    plural: str,
    mp: str,
    resource_id: str,
    fields: Any,
    cleared: set[str],
) -> tuple[dict[str, Any], list[Job]]:
    if plural == "customers":
        assert isinstance(fields, CustomerUpdate)
        defaults = customers.Defaults(
            source_id=fields.links.source or fields.source,
            destination_id=fields.links.destination or fields.destination,
            clear_source="source" in cleared,
            clear_destination="destination" in cleared,
        )
        changes = fields.model_dump(exclude_unset=True, exclude={"links", "source", "destination"})
        return await customers.update_customer(connection, mp, resource_id, changes, defaults)
    assert isinstance(fields, BankAccountUpdate)
    customer_id = fields.links.customer or fields.customer
    if plural == "cards":
        return await customers.attach_card(connection, mp, resource_id, customer_id, fields.meta)
    return await instruments.update_bank_account(
        connection, mp, resource_id, customer_id, fields.meta
    )


def deleter(plural: str) -> Handler:
    """`DELETE /<plural>/{id}`: unstore a customer, card or bank account (204)."""

    async def delete(request: web.Request) -> web.Response:
        mp, resource_id = marketplace_id(request), request.match_info["id"]
        async with transaction(request) as connection:
            if plural == "customers":
                jobs = await customers.delete_customer(connection, mp, resource_id)
            else:
                await SHOWN[plural][1](connection, mp, resource_id)  # 404 if not this kind.
                jobs = await customers.unstore(connection, mp, resource_id)
        await after_commit(request, jobs)
        return web.Response(status=204)

    return delete


def adder(plural: str) -> Handler:
    """`POST /customers/{id}/cards` or `/bank_accounts`: tokenize one as the customer's."""
    model: type[CardCreate | BankAccountCreate] = (
        CardCreate if plural == "cards" else BankAccountCreate
    )
    kind, render = plural.removesuffix("s"), SHOWN[plural][0]

    async def add(request: web.Request) -> web.Response:
        fields = await parse(request, model, plural)
        async with transaction(request) as connection:
            row, jobs = await customers.add_instrument(
                connection,
                marketplace_id(request),
                request.match_info["id"],
                kind,
                fields.model_dump(),
                fingerprint_key=request.app[SETTINGS].fingerprint_key.encode(),
            )
        await after_commit(request, jobs)
        return one(plural, render(row), status=201)

    return add
