"""Events, the callbacks each was delivered to, and each delivery's attempts."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import POOL
from api.auth import marketplace_id
from api.parsing import page, time_bounds
from api.views.common import many, one, total_of
from ledger import callbacks, events, resources, wire
from ledger.errors import RequestInvalid

# Event types a list may be narrowed to at once (`type[in]=a,b,…`).
TYPE_FILTER_VALUES_MAX = 50


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
    await events.get(request.app[POOL], mp, event_id)  # 404 for another's or none.
    rows = await events.deliveries(request.app[POOL], mp, event_id, limit, offset)
    items = [wire.event_callback(row) for row in rows]
    return many(request, "event_callbacks", items, total_of(rows))


async def list_event_callback_logs(request: web.Request) -> web.Response:
    """Every attempt of one event's delivery to one callback (`event_callback_logs`)."""
    mp = marketplace_id(request)
    event_id, callback_id = request.match_info["id"], request.match_info["callback_id"]
    limit, offset = page(request)
    await events.get(request.app[POOL], mp, event_id)  # 404 for another's or none.
    await callbacks.get(request.app[POOL], mp, callback_id)
    rows = await events.attempts(request.app[POOL], mp, event_id, callback_id, limit, offset)
    items = [wire.event_callback_log(row) for row in rows]
    return many(request, "event_callback_logs", items, total_of(rows))
