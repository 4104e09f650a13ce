"""Callbacks (`/dashboard/callbacks`, in the "Events & callbacks" section): each one's
health (enabled, failing, stalled or disabled, its recent success rate, its last failure),
its deliveries with every attempt, and the API's actions on it — redeliver an event or a
time range, rotate the signing secret (shown once), enable a disabled one — through the
very ledger functions the API's views call (api/views/callbacks.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from api.request_models import ROTATION_OVERLAP_MS_MAX
from callbacks import signing
from dashboard import actions, context, paging
from dashboard.forms import read_form, text_field
from dashboard.templating import render
from ledger import callbacks
from ledger import dashboard as ledger_dashboard
from ledger.outbox import Job
from ledger.records import Callback

# The success rate a callback's health shows is over this much time.
HEALTH_WINDOW = timedelta(hours=24)
# Secrets shown once must not stay in any cache (the browser's back button included).
NO_STORE = {"Cache-Control": "no-store"}
MINUTE_MS = 60_000


async def callbacks_list(request: web.Request) -> web.Response:
    template = "callbacks/table.html" if request.query.get("part") == "table" else None
    return await render(request, template or "callbacks/index.html", await _list_context(request))


async def _list_context(request: web.Request) -> dict[str, Any]:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    now = datetime.now(UTC)
    rows = await ledger_dashboard.callbacks_health(pool, marketplace_id, now - HEALTH_WINDOW)
    return {"callbacks": rows, "now": now}


async def callback_page(
    request: web.Request,
    *,
    notice: str | None = None,
    error: str | None = None,
    secret: str | None = None,
    status: int = 200,
) -> web.Response:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    callback_id = request.match_info["id"]
    now = datetime.now(UTC)
    health = await ledger_dashboard.callback_health(
        pool, marketplace_id, callback_id, now - HEALTH_WINDOW
    )
    limit, offset = paging.limits(request)
    deliveries, total = await ledger_dashboard.callback_deliveries(
        pool, marketplace_id, callback_id, limit, offset
    )
    settings = context.settings(request)
    part = request.method == "GET" and request.query.get("part") == "deliveries"
    response = await render(
        request,
        "callbacks/deliveries.html" if part else "callbacks/detail.html",
        {
            # The deliveries' live element re-fetches the page of them shown.
            "deliveries_source": str(
                request.app.router["events.callback"]
                .url_for(id=callback_id)
                .with_query({"limit": str(limit), "offset": str(offset), "part": "deliveries"})
            ),
            "callback": health,
            "now": now,
            "deliveries": deliveries,
            "page": paging.page(request, limit, offset, total),
            "notice": notice,
            "error": error,
            "secret": secret,
            "overlap_minutes": settings.callback_secret_overlap_ms // MINUTE_MS,
            "overlap_minutes_max": ROTATION_OVERLAP_MS_MAX // MINUTE_MS,
            "range_until": now.strftime("%Y-%m-%dT%H:%M"),
            "range_since": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
        status=status,
    )
    if secret is not None:
        response.headers.update(NO_STORE)
    return response


async def health_badge(request: web.Request) -> web.Response:
    """A callback's health card alone: the live element of its page."""
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    now = datetime.now(UTC)
    health = await ledger_dashboard.callback_health(
        pool, marketplace_id, request.match_info["id"], now - HEALTH_WINDOW
    )
    return await render(request, "callbacks/health.html", {"callback": health, "now": now})


async def _redeliver(
    request: web.Request, event_ids: list[str] | None, occurred: tuple[datetime, datetime] | None
) -> web.Response:
    marketplace_id, callback_id = context.marketplace_id(request), request.match_info["id"]

    async def work(connection: asyncpg.Connection) -> tuple[int, list[Job]]:
        return await callbacks.queue_redelivery(
            connection, marketplace_id, callback_id, event_ids, occurred
        )

    outcome = await actions.run(request, work)
    if outcome.error is not None:
        return await callback_page(request, error=outcome.error, status=422)
    queued = outcome.result or 0
    notice = (
        f"Queued {queued} event{'' if queued == 1 else 's'} for redelivery."
        if queued
        else "No event matched: nothing was queued."
    )
    return await callback_page(request, notice=notice)


async def redeliver_event(request: web.Request) -> web.Response:
    form = await read_form(request)
    event_id = text_field(form, "event_id")
    if event_id is None:
        return await callback_page(request, error="Give the id of the event to send.", status=422)
    return await _redeliver(request, [event_id], None)


def _moment(text: str | None) -> datetime | None:
    """A datetime-local field's value, read as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def redeliver_range(request: web.Request) -> web.Response:
    form = await read_form(request)
    since, until = _moment(text_field(form, "since")), _moment(text_field(form, "until"))
    if since is None or until is None or since > until:
        error = "Give the range as two times (UTC), the first no later than the second."
        return await callback_page(request, error=error, status=422)
    return await _redeliver(request, None, (since, until))


async def rotate_secret(request: web.Request) -> web.Response:
    form = await read_form(request)
    minutes_text = text_field(form, "overlap_minutes")
    limit_minutes = ROTATION_OVERLAP_MS_MAX // MINUTE_MS
    if minutes_text is None or not minutes_text.isdigit() or int(minutes_text) > limit_minutes:
        error = f"The overlap is a whole number of minutes, from 0 to {limit_minutes}."
        return await callback_page(request, error=error, status=422)
    overlap = timedelta(minutes=int(minutes_text))
    marketplace_id, callback_id = context.marketplace_id(request), request.match_info["id"]
    secret = signing.new_secret()

    async def work(connection: asyncpg.Connection) -> tuple[Callback, list[Job]]:
        row = await callbacks.rotate_secret(
            connection, marketplace_id, callback_id, secret, overlap, datetime.now(UTC)
        )
        return row, []

    outcome = await actions.run(request, work)
    if outcome.error is not None:
        return await callback_page(request, error=outcome.error, status=422)
    notice = (
        f"New signing secret made. The old one keeps signing beside it for "
        f"{int(overlap.total_seconds() // 60)} minutes."
    )
    return await callback_page(request, notice=notice, secret=secret)


async def enable(request: web.Request) -> web.Response:
    marketplace_id, callback_id = context.marketplace_id(request), request.match_info["id"]

    async def work(connection: asyncpg.Connection) -> tuple[Callback, list[Job]]:
        return await callbacks.enable(connection, marketplace_id, callback_id), []

    outcome = await actions.run(request, work)
    if outcome.error is not None:
        return await callback_page(request, error=outcome.error, status=422)
    notice = "Enabled: events from now on are delivered. Redeliver the gap if it matters."
    return await callback_page(request, notice=notice)


ROUTES = [
    web.get("/callbacks", callbacks_list, name="events.callbacks"),
    web.get("/callbacks/{id}", callback_page, name="events.callback"),
    web.get("/callbacks/{id}/health", health_badge, name="events.callback_health"),
    web.post("/callbacks/{id}/redeliveries", redeliver_event, name="events.redeliver"),
    web.post("/callbacks/{id}/redeliveries/range", redeliver_range, name="events.redeliver_range"),
    web.post("/callbacks/{id}/secret", rotate_secret, name="events.rotate"),
    web.post("/callbacks/{id}/enable", enable, name="events.enable"),
]
