"""`GET /dashboard/stream`: the marketplace's events as server-sent events.

Each message is an `entity` event whose data is JSON: `{"entity_id", "status", "type",
"event_id"}` (status is null for entities without one). static/live.js re-fetches the
elements of the page that show that entity."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp_sse import sse_response

from dashboard import context
from dashboard.keys import LIVE_HUB

# A comment line this often keeps proxies from closing an idle stream, and finds out that
# a browser left (aiohttp-sse stops pinging then).
PING_INTERVAL_S = 15.0
# How often an idle stream checks that its browser is still there.
IDLE_CHECK_S = 5.0


async def stream(request: web.Request) -> web.StreamResponse:
    hub = request.app[LIVE_HUB]
    operator = context.operator(request)
    async with (
        sse_response(request, ping_interval=PING_INTERVAL_S) as response,
        hub.subscribe(context.pool(request), operator.marketplace_id) as queue,
    ):
        while response.is_connected():
            try:
                event = await asyncio.wait_for(queue.get(), IDLE_CHECK_S)
            except TimeoutError:
                continue
            if event is None:
                break
            data = {
                "entity_id": event.entity_id,
                "status": event.status,
                "type": event.type,
                "event_id": event.id,
            }
            try:
                await response.send(json.dumps(data), event="entity", id=event.id)
            except ConnectionResetError:
                break
    return response


ROUTES = [web.get("/stream", stream, name="live.stream")]
