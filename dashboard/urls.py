"""Where the dashboard lives, and how its pages name each other."""

from __future__ import annotations

from aiohttp import web

# The dashboard's mount point on the API (api/app.py); its cookie's Path too.
DASHBOARD_PREFIX = "/dashboard"


def url(request: web.Request, route_name: str, **parts: str) -> str:
    """The path of a named dashboard route (`url(request, "orders.detail", id=...)`)."""
    return str(request.app.router[route_name].url_for(**parts))


def static(request: web.Request, filename: str) -> str:
    return str(request.app.router["static"].url_for(filename=filename))
