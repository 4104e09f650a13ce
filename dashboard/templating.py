"""Jinja2 through aiohttp-jinja2: the environment (autoescape on for every template,
undefined names are errors), its filters, and `render`, which gives every template the
context the layout needs."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from dashboard import csrf, formatting, nav
from dashboard.keys import OPERATOR
from dashboard.urls import static, url

FILTERS = {
    "money": formatting.money,
    "signed_money": formatting.signed_money,
    "when": formatting.when,
    "percent": formatting.percent,
}


def setup(app: web.Application) -> None:
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("dashboard", "templates"),
        # Every template, whatever its name: user-supplied text is always escaped.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)


async def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """The page: `template` with `context` and what base.html uses (the operator, the
    nav, the CSRF token, `url()` and `static()`)."""
    route_name = request.match_info.route.name
    base = {
        "operator": request.get(OPERATOR),
        "nav": nav.NAV,
        "section": nav.section_of(route_name),
        "csrf_token": await csrf.token(request),
        "csrf_field_name": csrf.FORM_FIELD,
        "url": lambda name, **parts: url(request, name, **parts),
        "static": lambda filename: static(request, filename),
        "htmx_request": request.headers.get("HX-Request") == "true",
    }
    return aiohttp_jinja2.render_template(template, request, base | context, status=status)
