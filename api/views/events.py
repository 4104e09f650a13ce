"""Events, the callbacks they are delivered to, and each delivery's attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from api.appkeys import POOL, SETTINGS
from api.auth import marketplace_id
from api.parsing import page, parse, time_bounds
from api.request_models import CallbackCreate, RedeliveryCreate, RotationCreate
from api.responses import json_response, no_content
from api.views.common import after_commit, many, one, total_of, transaction
from callbacks import signing, ssrf
from ledger import events, outbox, protocol, resources, subscriptions, wire
from ledger.errors import RequestInvalid

# Event types a list may be narrowed to at once (`type[in]=a,b,…`).
TYPE_FILTER_VALUES_MAX = 50
# A range redelivery (up to 10k events) shares the one job queue with every marketplace's
# transfers. Enqueued at once, it would put 10k deliveries ahead of every transfer job
# created after it. So only the first REDELIVERY_BURST are queued at once; the others are
# paced in the outbox, REDELIVERY_INTERVAL_MS apart (20 a second per callback, further
# requests for the callback queueing behind), and the sweeper enqueues them as they fall
# due. A transfer job therefore never waits behind more than REDELIVERY_BURST deliveries
# of one request plus what fell due since.
REDELIVERY_BURST = 100
REDELIVERY_INTERVAL_MS = 50


def _types(request: web.Request) -> list[str] | None:
    wanted = request.query.get("type") or request.query.get("type[in]")
    if wanted is None:
        return None
    types = wanted.split(",")
    if len(types) > TYPE_FILTER_VALUES_MAX or any(len(t) > 64 for t in types):
        raise RequestInvalid("Invalid filter [type].", extras={"type": wanted[:64]})
    return types


async def list_events(request: web.Request) -> web.Response:
    """All events, or (under `/{resource}/{id}/events`) those of one resource."""
    mp, entity_id = marketplace_id(request), request.match_info.get("id")
    pool = request.app[POOL]
    if entity_id is not None:
        await resources.find(pool, mp, entity_id)  # 404 if it is not this marketplace's.
    limit, offset = page(request)
    occurred = time_bounds(request, "occurred_at")
    rows = await events.list_page(pool, mp, entity_id, _types(request), occurred, limit, offset)
    items = [wire.event(row, row["callback_statuses"]) for row in rows]
    return many(request, "events", items, total_of(rows))


async def get_event(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    row = await events.get(request.app[POOL], marketplace_id(request), event_id)
    return one("events", wire.event(row, row["callback_statuses"]))


async def list_event_callbacks(request: web.Request) -> web.Response:
    """Where one event went: a delivery per callback, like Balanced's `event_callbacks`."""
    mp, event_id = marketplace_id(request), request.match_info["id"]
    limit, offset = page(request)
    rows = await events.deliveries(request.app[POOL], mp, event_id, limit, offset)
    items = [wire.event_callback(row) for row in rows]
    return many(request, "event_callbacks", items, total_of(rows))


async def list_event_callback_logs(request: web.Request) -> web.Response:
    """Every attempt of one event's delivery to one callback (`event_callback_logs`)."""
    mp = marketplace_id(request)
    event_id, callback_id = request.match_info["id"], request.match_info["callback_id"]
    limit, offset = page(request)
    rows = await events.attempts(request.app[POOL], mp, event_id, callback_id, limit, offset)
    items = [wire.event_callback_log(row) for row in rows]
    return many(request, "event_callback_logs", items, total_of(rows))


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
        row = await subscriptions.create(
            connection, marketplace_id(request), fields.url, fields.method, fields.revision, secret
        )
    return one("callbacks", wire.callback(row) | {"secret": secret}, status=201)


async def list_callbacks(request: web.Request) -> web.Response:
    limit, offset = page(request)
    mp = marketplace_id(request)
    subscribed, total = await subscriptions.list_page(request.app[POOL], mp, limit, offset)
    return many(request, "callbacks", [wire.callback(c) for c in subscribed], total)


async def get_callback(request: web.Request) -> web.Response:
    callback_id = request.match_info["id"]
    row = await subscriptions.get(request.app[POOL], marketplace_id(request), callback_id)
    return one("callbacks", wire.callback(row))


async def delete_callback(request: web.Request) -> web.StreamResponse:
    callback_id = request.match_info["id"]
    await subscriptions.delete(request.app[POOL], marketplace_id(request), callback_id)
    return no_content()


async def get_callback_health(request: web.Request) -> web.Response:
    callback_id = request.match_info["id"]
    row = await subscriptions.get(request.app[POOL], marketplace_id(request), callback_id)
    health = wire.callback_health(row, datetime.now(UTC))
    return json_response({"callback_health": [health], "links": {}})


async def enable_callback(request: web.Request) -> web.Response:
    """Deliver to a disabled callback again (events from now on; redeliver the gap)."""
    row = await subscriptions.enable(
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
        row = await subscriptions.rotate_secret(
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
        jobs = await subscriptions.redeliver(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            chosen,
            occurred,  # type: ignore[arg-type]
        )
        due = await outbox.spread(
            connection,
            jobs,
            protocol.redelivery_job_prefix(request.match_info["id"]),
            REDELIVERY_BURST,
            REDELIVERY_INTERVAL_MS,
        )
    await after_commit(request, due)
    return json_response({"redeliveries": [{"queued": len(jobs)}], "links": {}}, 202)
