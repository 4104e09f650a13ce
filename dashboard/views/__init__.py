"""The dashboard's pages: one module each, every module a ROUTES list of named routes
(`<section>.<name>`, see dashboard.nav). `routes()` is the whole table."""

from __future__ import annotations

from aiohttp import web

from dashboard.views import (
    api_keys,
    callbacks,
    coming,
    events,
    overview,
    rail,
    sign_in,
    stream,
)

MODULES = (sign_in, overview, stream, events, callbacks, rail, api_keys, coming)


def routes() -> list[web.RouteDef]:
    return [route for module in MODULES for route in module.ROUTES]
