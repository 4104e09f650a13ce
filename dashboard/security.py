"""The headers every dashboard response carries.

The Content-Security-Policy allows nothing but this origin's own scripts, styles, images
and connections: no inline script or style (htmx's inline indicator styles are off, see
base.html), no framing, no form posting elsewhere. Pages are never cached (they show
money and are per operator); the static files may be."""

from __future__ import annotations

from aiohttp import web

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response, errors and event streams included."""
    response.headers.update(HEADERS)
    if request.match_info.route.name != "static":
        response.headers["Cache-Control"] = "no-store"
