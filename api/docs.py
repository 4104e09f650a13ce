"""The API reference for people (`GET /docs`) and the API's front door (`GET /`).

The reference is Swagger UI reading `/openapi.json`. Its files are served from this
package (`api/docs_assets/`: swagger-ui-dist from the npm registry, vendored unchanged, and
our two small files), never from elsewhere: the page works on a machine without internet
access, and under a Content-Security-Policy that allows scripts from this origin alone
(Swagger UI is started by `docs.js`, not by an inline script)."""

from __future__ import annotations

import functools
from html import escape
from pathlib import Path

from aiohttp import web

from api.responses import json_response

ASSETS_DIR = Path(__file__).with_name("docs_assets")
# The vendored Swagger UI (api/docs_assets/README.md says how to update it).
SWAGGER_UI_VERSION = "5.35.0"
ASSETS_PREFIX = "/docs/assets/"
# What `GET /docs/assets/{name}` serves: these names only, with their media types.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "docs.js": "text/javascript",
    "docs.css": "text/css",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
    "favicon-32x32.png": "image/png",
}
# The page loads its scripts, styles and the document from this origin only; images are
# Swagger UI's own icons, inlined in its stylesheet as data: URLs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# The files change only with a new release of ballast.
ASSETS_CACHE_S = 3600
DASHBOARD_PATH = "/dashboard/"
OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"


def page(title: str) -> str:
    """The reference page: Swagger UI's stylesheet and scripts, relative to `/docs`, so
    that it also works behind a proxy that serves the API under a path of its own."""
    assets = ASSETS_PREFIX.lstrip("/")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" type="image/png" href="{assets}favicon-32x32.png">
<link rel="stylesheet" href="{assets}swagger-ui.css">
<link rel="stylesheet" href="{assets}docs.css">
</head><body>
<div id="swagger-ui" data-openapi="{OPENAPI_PATH.lstrip("/")}"></div>
<noscript><p class="ballast-header">The reference needs JavaScript. The machine-readable
document is at <a href="{OPENAPI_PATH.lstrip("/")}">{OPENAPI_PATH}</a>.</p></noscript>
<script src="{assets}swagger-ui-bundle.js"></script>
<script src="{assets}docs.js"></script>
</body></html>
"""


@functools.cache
def _asset(name: str) -> bytes:
    return (ASSETS_DIR / name).read_bytes()


def security_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


async def asset(request: web.Request) -> web.Response:
    """One of the reference page's files (Swagger UI's, or ours)."""
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound(reason="No such file of the API reference.")
    media_type = ASSETS[name]
    return web.Response(
        body=_asset(name),
        content_type=media_type,
        charset="utf-8" if media_type.startswith("text/") else None,
        headers=security_headers() | {"Cache-Control": f"public, max-age={ASSETS_CACHE_S}"},
    )


def wants_html(request: web.Request) -> bool:
    """A browser asks for HTML first; API clients, curl and Balanced's client do not."""
    return "text/html" in request.headers.get("Accept", "")


async def index(request: web.Request) -> web.Response:
    """Where to go from here: a browser is sent (303) to the dashboard, whose sign-in page
    links to this reference; any other client gets the links to the API's documents."""
    if wants_html(request):
        return web.Response(status=303, headers={"Location": DASHBOARD_PATH})
    return json_response(
        {
            "name": "ballast",
            "api_revision": "1.1",
            "links": {
                "reference": DOCS_PATH,
                "openapi": OPENAPI_PATH,
                "dashboard": DASHBOARD_PATH,
                "health": "/healthz",
            },
        }
    )
