"""Failures answered as pages: a dashboard visitor never gets the API's JSON envelope nor
a bare 500. A refused action's own message is shown by its page (the `confirm` macro);
what reaches here is a wrong address, a forged form, a ledger refusal nobody caught, a
dependency that is down, or a bug (logged with its traceback, answered with a 500 page
that says no more)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from api.errors import UNAVAILABLE
from dashboard.urls import DASHBOARD_PREFIX
from ledger.errors import BalancedError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TITLES = {
    400: "That request could not be read",
    401: "Sign in first",
    403: "Refused",
    404: "Not found",
    405: "Not allowed",
    409: "Refused",
    413: "Too large",
    503: "Temporarily unavailable",
}
MESSAGES = {
    404: "There is no such page in this dashboard.",
    405: "This address does not take that method.",
    503: "The database or the queue is not answering: retry in a moment.",
    500: "Something went wrong on our side; it has been logged.",
}


async def _page(request: web.Request, status: int, message: str) -> web.Response:
    from dashboard.templating import render  # The templates' helpers import this module.

    title = TITLES.get(status, "Something went wrong")
    context = {"status": status, "title": title, "message": message}
    return await render(request, "error.html", context, status=status)


@web.middleware
async def error_pages_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or "HX-Redirect" in error.headers:
            raise
        if error.status == 404 and request.path == DASHBOARD_PREFIX:
            raise web.HTTPPermanentRedirect(DASHBOARD_PREFIX + "/") from None
        message = error.reason if error.status in (400, 403, 413) else ""
        return await _page(request, error.status, message or MESSAGES.get(error.status, ""))
    except BalancedError as error:
        return await _page(request, error.status_code, error.description)
    except UNAVAILABLE:
        log.warning("dashboard: dependency unavailable", exc_info=True)
        return await _page(request, 503, MESSAGES[503])
    except Exception:
        log.exception("dashboard: unexpected error on %s %s", request.method, request.path)
        return await _page(request, 500, MESSAGES[500])
