"""Events and the callbacks they are delivered to."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from api.auth import marketplace_id
from api.bodies import page, parse
from api.keys import POOL, SETTINGS
from api.models import CallbackCreate
from api.responses import no_content
from api.views.common import many, one, total_of, transaction
from callbacks import signing, ssrf
from ledger import ids, wire
from ledger.errors import Conflict, NotFound, RequestInvalid
from ledger.sql import QUERIES

EVENTS = QUERIES["events"]
CALLBACKS = QUERIES["callbacks"]
DUPLICATE_URL_INDEX = "callbacks_one_url_per_marketplace"


async def list_events(request: web.Request) -> web.Response:
    limit, offset = page(request)
    rows = await request.app[POOL].fetch(EVENTS["list"], marketplace_id(request), limit, offset)
    items = [wire.event(row, row["callback_statuses"]) for row in rows]
    return many(request, "events", items, total_of(rows))


async def get_event(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    row = await request.app[POOL].fetchrow(EVENTS["get"], marketplace_id(request), event_id)
    if row is None:
        raise NotFound(f"Event {event_id} could not be found.")
    return one("events", wire.event(row, row["callback_statuses"]))


async def create_callback(request: web.Request) -> web.Response:
    """Subscribe a URL; its signing secret is returned now and never again."""
    fields = await parse(request, CallbackCreate, "callbacks")
    try:
        await ssrf.check_url(
            fields.url, allow_private=request.app[SETTINGS].callbacks_allow_private
        )
    except ssrf.UnsafeUrl as error:
        raise RequestInvalid(
            f"Invalid field [url]: {error}.", extras={"url": str(error)}
        ) from error
    secret = signing.new_secret()
    try:
        async with transaction(request) as connection:
            row = await connection.fetchrow(
                CALLBACKS["insert"],
                ids.new_id("callback"),
                marketplace_id(request),
                fields.url,
                fields.method,
                fields.revision,
                secret,
            )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != DUPLICATE_URL_INDEX:
            raise
        raise Conflict(
            "Webhook URL already exists.", category_code="duplicate-webhook-url"
        ) from error
    item = wire.callback(row) | {"secret": secret}
    return one("callbacks", item, status=201)


async def list_callbacks(request: web.Request) -> web.Response:
    limit, offset = page(request)
    rows = await request.app[POOL].fetch(CALLBACKS["list"], marketplace_id(request), limit, offset)
    return many(request, "callbacks", [wire.callback(row) for row in rows], total_of(rows))


async def get_callback(request: web.Request) -> web.Response:
    callback_id = request.match_info["id"]
    row = await request.app[POOL].fetchrow(CALLBACKS["get"], marketplace_id(request), callback_id)
    if row is None:
        raise NotFound(f"Callback {callback_id} could not be found.")
    return one("callbacks", wire.callback(row))


async def delete_callback(request: web.Request) -> web.StreamResponse:
    callback_id = request.match_info["id"]
    deleted = await request.app[POOL].fetchval(
        CALLBACKS["delete"], marketplace_id(request), callback_id
    )
    if deleted is None:
        raise NotFound(f"Callback {callback_id} could not be found.")
    return no_content()
