"""Callbacks: a marketplace's subscription of a URL to its events — creating, listing,
deleting, health, enabling again, rotating the signing secret, redelivering events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from api.appkeys import POOL, SETTINGS
from api.auth import marketplace_id
from api.parsing import page, parse
from api.request_models import CallbackCreate, RedeliveryCreate, RotationCreate
from api.responses import json_response, no_content
from api.views.common import after_commit, many, one, transaction
from callbacks import signing, ssrf
from ledger import callbacks, wire
from ledger.errors import RequestInvalid


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
    async with transaction(request) as connection:
        row = await callbacks.create(
            connection, marketplace_id(request), fields.url, fields.method, fields.revision, secret
        )
    return one("callbacks", wire.callback(row) | {"secret": secret}, status=201)


async def list_callbacks(request: web.Request) -> web.Response:
    limit, offset = page(request)
    mp = marketplace_id(request)
    subscribed, total = await callbacks.list_page(request.app[POOL], mp, limit, offset)
    return many(request, "callbacks", [wire.callback(c) for c in subscribed], total)


async def get_callback(request: web.Request) -> web.Response:
    callback_id = request.match_info["id"]
    row = await callbacks.get(request.app[POOL], marketplace_id(request), callback_id)
    return one("callbacks", wire.callback(row))


async def delete_callback(request: web.Request) -> web.StreamResponse:
    callback_id = request.match_info["id"]
    await callbacks.delete(request.app[POOL], marketplace_id(request), callback_id)
    return no_content()


async def get_callback_health(request: web.Request) -> web.Response:
    callback_id = request.match_info["id"]
    row = await callbacks.get(request.app[POOL], marketplace_id(request), callback_id)
    health = wire.callback_health(row, datetime.now(UTC))
    return json_response({"callback_health": [health], "links": {}})


async def enable_callback(request: web.Request) -> web.Response:
    """Deliver to a disabled callback again (events from now on; redeliver the gap)."""
    row = await callbacks.enable(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    health = wire.callback_health(row, datetime.now(UTC))
    return json_response({"callback_health": [health], "links": {}})


async def rotate_callback_secret(request: web.Request) -> web.Response:
    """A new signing secret, returned once; the old one keeps signing beside it for the
    overlap (default `callback_secret_overlap_ms`), so receivers can switch without loss."""
    fields = await parse(request, RotationCreate, "callbacks")
    overlap_ms = fields.overlap_ms
    if overlap_ms is None:
        overlap_ms = request.app[SETTINGS].callback_secret_overlap_ms
    secret = signing.new_secret()
    async with transaction(request) as connection:
        row = await callbacks.rotate_secret(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            secret,
            timedelta(milliseconds=overlap_ms),
            datetime.now(UTC),
        )
    return one("callbacks", wire.callback(row) | {"secret": secret})


async def redeliver(request: web.Request) -> web.Response:
    """Send one event, or every event of a time range, to this callback again."""
    fields = await parse(request, RedeliveryCreate, "redeliveries")
    chosen = [fields.event] if fields.event is not None else None
    occurred = (fields.since, fields.until) if chosen is None else None
    if occurred is not None and (occurred[0] is None or occurred[1] is None):
        raise RequestInvalid("Give either `event`, or both `since` and `until`.")
    async with transaction(request) as connection:
        queued, due = await callbacks.queue_redelivery(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            chosen,
            occurred,  # type: ignore[arg-type]
        )
    await after_commit(request, due)
    return json_response({"redeliveries": [{"queued": queued}], "links": {}}, 202)
