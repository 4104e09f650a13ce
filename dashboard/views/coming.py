"""Placeholders for the pages not built yet, so that the navigation is whole.

To build one: remove its section from COMING, add `dashboard/views/<section>.py` with a
`<section>.index` route, and list that module in dashboard.views.MODULES."""

from __future__ import annotations

from aiohttp import web

from dashboard.errors import Handler
from dashboard.nav import NAV
from dashboard.templating import render

COMING: frozenset[str] = frozenset()


def _placeholder(label: str) -> Handler:
    async def page(request: web.Request) -> web.Response:
        return await render(request, "coming.html", {"label": label})

    return page


ROUTES = [
    web.get(f"/{entry.section.replace('_', '-')}", _placeholder(entry.label), name=entry.route_name)
    for entry in NAV
    if entry.section in COMING
]
