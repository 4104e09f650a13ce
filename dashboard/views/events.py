"""The event log (`/dashboard/events`): every state change of the marketplace, newest
first, filtered by type and entity; an event's page shows its body and where it went
(its deliveries to callbacks, each attempt, and a redelivery form per callback)."""

from __future__ import annotations

import json

from aiohttp import web

from dashboard import context, paging
from dashboard.forms import FIELD_CHARS_MAX
from dashboard.templating import render
from ledger import dashboard as ledger_dashboard
from ledger import events

# An event reaches at most a handful of callbacks; its page lists this many deliveries.
DELIVERIES_MAX = 100
# Event types and entity ids are short; a longer filter matches nothing anyway.
FILTER_CHARS_MAX = 64


def _filter(request: web.Request, name: str) -> str | None:
    value = request.query.get(name, "").strip()
    return value if value and len(value) <= min(FILTER_CHARS_MAX, FIELD_CHARS_MAX) else None


async def event_log(request: web.Request) -> web.Response:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    event_type, entity_id = _filter(request, "type"), _filter(request, "entity")
    limit, offset = paging.limits(request)
    rows, total = await ledger_dashboard.events_newest(
        pool, marketplace_id, entity_id, event_type, limit, offset
    )
    return await render(
        request,
        "events/index.html",
        {
            "events": rows,
            "page": paging.page(request, limit, offset, total),
            "event_type": event_type or "",
            "entity_id": entity_id or "",
        },
    )


async def event_page(request: web.Request) -> web.Response:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    event_id = request.match_info["id"]
    row = await events.get(pool, marketplace_id, event_id)
    return await render(
        request,
        "events/detail.html",
        {
            "event": row,
            # Pretty-printed for reading; autoescaped like every other string.
            "body": json.dumps(row["entity"], indent=2, sort_keys=True),
            **await _deliveries(request, event_id),
        },
    )


async def event_deliveries(request: web.Request) -> web.Response:
    """The deliveries panel alone: the live element of an event's page."""
    event_id = request.match_info["id"]
    await events.get(context.pool(request), context.marketplace_id(request), event_id)
    return await render(
        request,
        "events/deliveries.html",
        {"event": {"id": event_id}, **await _deliveries(request, event_id)},
    )


async def _deliveries(request: web.Request, event_id: str) -> dict[str, object]:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    rows = await events.deliveries(pool, marketplace_id, event_id, DELIVERIES_MAX, 0)
    tries = await ledger_dashboard.delivery_attempts(pool, marketplace_id, [r["id"] for r in rows])
    return {"deliveries": rows, "tries": tries}


ROUTES = [
    web.get("/events", event_log, name="events.index"),
    web.get("/events/{id}", event_page, name="events.detail"),
    web.get("/events/{id}/deliveries", event_deliveries, name="events.deliveries"),
]
