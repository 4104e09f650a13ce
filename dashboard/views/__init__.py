"""The dashboard's pages: one module each, every module a ROUTES list of named routes
(`<section>.<name>`, see dashboard.nav). `routes()` is the whole table."""

from __future__ import annotations

from aiohttp import web

from dashboard.views import (
    api_keys,
    callbacks,
    coming,
    customers,
    events,
    orders,
    overview,
    rail,
    sign_in,
    stream,
    transactions,
)

MODULES = (
    sign_in,
    overview,
    stream,
    orders,
    customers,
    transactions,
    events,
    callbacks,
    rail,
    api_keys,
    coming,
)


def routes() -> list[web.RouteDef]:
    return [route for module in MODULES for route in module.ROUTES]
