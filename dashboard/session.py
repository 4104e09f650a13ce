"""Signing in: an API key secret is exchanged for an encrypted session cookie.

The cookie (aiohttp-session's EncryptedCookieStorage: Fernet, so AES-128 for secrecy and
HMAC-SHA256 against tampering, keyed by BALLAST_SESSION_KEY) holds the key's id, its
marketplace's id and the session's CSRF token — never the secret, which is only hashed at
sign-in and forgotten. Every request looks the key up again (`operator_middleware`), so a
key revoked through the API ends its dashboard sessions at once."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp_session import Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from dashboard import context
from dashboard.errors import Handler
from dashboard.keys import OPERATOR
from dashboard.urls import DASHBOARD_PREFIX
from ledger import dashboard as ledger_dashboard

COOKIE_NAME = "ballast_dashboard"
# A session lasts a working day; then the operator signs in again.
SESSION_MAX_AGE_S = 12 * 3600
# Session fields.
KEY_ID = "key_id"
MARKETPLACE_ID = "marketplace_id"
# Routes anyone may reach (by route name; their CSRF is still checked on POST).
PUBLIC_ROUTE_NAMES = frozenset({"sign_in.index", "sign_in.submit", "static"})
# Why a visitor was sent to the sign-in page: the page says it in its own words, so that
# nothing from the query string is ever shown.
SIGN_IN_REASONS = {
    "signed-out": "You are signed out.",
    "expired": "Your session has ended: sign in again.",
    "revoked": "That API key was revoked: sign in with a live one.",
}


def storage(session_key: str) -> EncryptedCookieStorage:
    return EncryptedCookieStorage(
        session_key,
        cookie_name=COOKIE_NAME,
        max_age=SESSION_MAX_AGE_S,
        path=DASHBOARD_PREFIX,
        httponly=True,
        samesite="Strict",
    )


async def sign_in(request: web.Request, key_id: str, marketplace_id: str) -> Session:
    """A new session for the key (a new CSRF token too: the anonymous one is dropped)."""
    session = await new_session(request)
    session[KEY_ID] = key_id
    session[MARKETPLACE_ID] = marketplace_id
    return session


async def sign_out(request: web.Request) -> None:
    (await get_session(request)).invalidate()


def sign_in_url(reason: str | None = None) -> str:
    assert reason is None or reason in SIGN_IN_REASONS, reason
    return f"{DASHBOARD_PREFIX}/sign-in" + (f"?reason={reason}" if reason else "")


def _to_sign_in(request: web.Request, reason: str | None) -> web.HTTPException:
    """Where a request without a live session goes: htmx requests are told to load the
    sign-in page (HX-Redirect) instead of swapping it into a fragment."""
    url = sign_in_url(reason)
    if request.headers.get("HX-Request") == "true":
        return web.HTTPUnauthorized(headers={"HX-Redirect": url})
    if request.method in ("GET", "HEAD") and request.match_info.route.name != "live.stream":
        return web.HTTPSeeOther(url)
    return web.HTTPUnauthorized()


def _text(session: Session, field: str) -> str | None:
    value: Any = session.get(field)
    return value if isinstance(value, str) else None


@web.middleware
async def operator_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but sign-in and the static files needs a session whose key is live."""
    name = request.match_info.route.name
    if request.match_info.http_exception is not None or name in PUBLIC_ROUTE_NAMES:
        return await handler(request)
    session = await get_session(request)
    key_id, marketplace_id = _text(session, KEY_ID), _text(session, MARKETPLACE_ID)
    operator = None
    if key_id is not None and marketplace_id is not None:
        operator = await ledger_dashboard.operator(context.pool(request), key_id, marketplace_id)
    if operator is None:
        session.invalidate()
        raise _to_sign_in(request, None if key_id is None else "revoked")
    request[OPERATOR] = operator
    return await handler(request)
