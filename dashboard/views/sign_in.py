"""Signing in with an API key secret, and out."""

from __future__ import annotations

from aiohttp import web

from dashboard import context, session
from dashboard.forms import read_form, text_field
from dashboard.templating import render
from dashboard.urls import DASHBOARD_PREFIX
from ledger import marketplaces

SECRET_FIELD = "secret"
WRONG_KEY = "That API key is not valid (or it was revoked)."
NO_MARKETPLACE = "That API key has no marketplace yet: create one with POST /marketplaces."


async def sign_in_page(request: web.Request) -> web.Response:
    reason = session.SIGN_IN_REASONS.get(request.query.get("reason", ""))
    return await render(request, "sign_in/index.html", {"notice": reason, "error": None})


async def sign_in(request: web.Request) -> web.Response:
    secret = text_field(await read_form(request), SECRET_FIELD)
    # The same lookup as the API's HTTP Basic (by the secret's SHA-256, revoked keys
    # excluded); the secret itself goes no further than this line.
    key = None if secret is None else await marketplaces.authenticate(context.pool(request), secret)
    if key is None or key["marketplace_id"] is None:
        error = WRONG_KEY if key is None else NO_MARKETPLACE
        context_ = {"notice": None, "error": error}
        return await render(request, "sign_in/index.html", context_, status=401)
    await session.sign_in(request, key["id"], key["marketplace_id"])
    raise web.HTTPSeeOther(DASHBOARD_PREFIX + "/")


async def sign_out(request: web.Request) -> web.Response:
    await session.sign_out(request)
    raise web.HTTPSeeOther(session.sign_in_url("signed-out"))


ROUTES = [
    web.get("/sign-in", sign_in_page, name="sign_in.index"),
    web.post("/sign-in", sign_in, name="sign_in.submit"),
    web.post("/sign-out", sign_out, name="sign_out.submit"),
]
