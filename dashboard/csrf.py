"""CSRF protection: one random token per session, required on every POST.

Forms carry it as the field `csrf_token` (the `csrf_field()` macro); htmx requests as
the `X-CSRF-Token` header, which static/dashboard.js adds from the page's
`<meta name="csrf-token">`. A request without it, or with another, is refused with a 403
page before its handler runs, so it changes nothing. The session cookie is also
SameSite=Strict; the token is what holds when a browser does not honour that."""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp_session import get_session

from dashboard.errors import Handler
from dashboard.forms import read_form

SESSION_FIELD = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
# 32 random bytes: unguessable; URL-safe base64, so it fits a header and a form field.
TOKEN_BYTES = 32
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
REFUSAL = "This form has expired or did not come from this dashboard: reload the page and retry."


async def token(request: web.Request) -> str:
    """The session's token, made on first use (the sign-in form gets one too, so that a
    forged sign-in cannot slip an attacker's key into someone's browser)."""
    session = await get_session(request)
    value = session.get(SESSION_FIELD)
    if not isinstance(value, str):
        value = secrets.token_urlsafe(TOKEN_BYTES)
        session[SESSION_FIELD] = value
    return value


def _same(sent: str, expected: str) -> bool:
    return hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS or request.match_info.http_exception is not None:
        return await handler(request)
    expected = (await get_session(request)).get(SESSION_FIELD)
    sent: object = request.headers.get(HEADER)
    if sent is None and request.content_type in FORM_TYPES:
        sent = (await read_form(request)).get(FORM_FIELD)
    if not (isinstance(expected, str) and isinstance(sent, str) and _same(sent, expected)):
        raise web.HTTPForbidden(reason=REFUSAL)
    return await handler(request)
