"""API keys (`/dashboard/api-keys`): create one (its secret shown once, on a page no
cache keeps), list them (revoked ones too), revoke one — through the ledger functions the
API's views call (api/views/marketplaces.py). Revoking the key one is signed in with
signs one out at the next request (dashboard.session checks the key on every request)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from api.appkeys import KEY_CACHE
from dashboard import actions, context, paging
from dashboard.forms import read_form
from dashboard.templating import render
from dashboard.urls import url
from ledger import dashboard as ledger_dashboard
from ledger import marketplaces
from ledger.errors import BalancedError
from ledger.outbox import Job

NO_STORE = {"Cache-Control": "no-store"}


async def keys_page(
    request: web.Request,
    *,
    secret: str | None = None,
    created_id: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    limit, offset = paging.limits(request)
    keys, total = await ledger_dashboard.api_keys(pool, marketplace_id, limit, offset)
    response = await render(
        request,
        "api_keys/index.html",
        {
            "keys": keys,
            "page": paging.page(request, limit, offset, total),
            "current_key_id": context.operator(request).key_id,
            "secret": secret,
            "created_id": created_id,
            "error": error,
        },
        status=status,
    )
    # No page of this section is worth caching, and the one with a secret must never be.
    response.headers.update(NO_STORE)
    return response


async def create_key(request: web.Request) -> web.Response:
    await read_form(request)  # The CSRF check has read it; a malformed one is a 400.
    marketplace_id = context.marketplace_id(request)

    async def work(connection: asyncpg.Connection) -> tuple[tuple[dict[str, Any], str], list[Job]]:
        return await marketplaces.create_api_key(connection, marketplace_id), []

    outcome = await actions.run(request, work)
    if outcome.result is None:
        return await keys_page(request, error=outcome.error, status=422)
    row, secret = outcome.result
    return await keys_page(request, secret=secret, created_id=row["id"])


async def revoke_key(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    key_id = request.match_info["id"]
    if form.get("confirm") != "yes":
        return await keys_page(request, error="Tick the box to confirm the revocation.", status=422)
    try:
        await marketplaces.revoke_api_key(
            context.pool(request), context.marketplace_id(request), key_id
        )
    except BalancedError as error:
        return await keys_page(request, error=error.description, status=422)
    # This process forgets the key at once (others within api.keycache.KEY_TTL_S).
    request.config_dict[KEY_CACHE].forget(key_id)
    raise web.HTTPSeeOther(url(request, "api_keys.index"))


ROUTES = [
    web.get("/api-keys", keys_page, name="api_keys.index"),
    web.post("/api-keys", create_key, name="api_keys.create"),
    web.post("/api-keys/{id}/revoke", revoke_key, name="api_keys.revoke"),
]
