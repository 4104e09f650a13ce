"""The error middleware: every failure leaves as Balanced's error envelope.

Domain errors carry their status and category; aiohttp's own (404 route, 405, 413) are
mapped; an unreachable database or queue is a 503 with Retry-After; anything else is a
bug, logged with its request id and answered with a 500 envelope."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from api.appkeys import REQUEST_ID
from api.responses import json_response
from ledger import ids
from ledger.errors import HTTP_REASONS, BalancedError, ServiceUnavailable, TransactionFailed

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Clients should wait this long before retrying while a dependency is down.
RETRY_AFTER_S = 2
UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    # A PostgreSQL shutdown or crash ends the sessions in flight with these; asyncpg may
    # then also find a connection it was using torn down mid-operation.
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.InternalClientError,
    # Lock ordering makes these impossible by design; if one happens it is logged, and the
    # client is told to retry rather than shown a 500.
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


def error_body(error: BalancedError, request_id: str) -> dict[str, Any]:
    return {
        "status": HTTP_REASONS[error.status_code],
        "status_code": error.status_code,
        "category_code": error.category_code,
        "category_type": error.category_type,
        "description": f"{error.description} Your request id is {request_id}.",
        "extras": error.extras,
        "additional": None,
        "request_id": request_id,
    }


def render(error: BalancedError, request_id: str) -> web.Response:
    body: dict[str, Any] = {"errors": [error_body(error, request_id)]}
    if isinstance(error, TransactionFailed):
        from ledger.wire import LINK_TEMPLATES

        body = {error.resource_type: [error.resource], **body}
        body["links"] = dict(LINK_TEMPLATES[error.resource_type])
    return json_response(body, error.status_code, error.headers)


def _from_http(error: web.HTTPException) -> BalancedError:
    if error.status == 404:
        return BalancedError(
            "The requested URL was not found.", status_code=404, category_code="not-found"
        )
    if error.status == 405:
        # RFC 9110: a 405 names the methods the resource does allow.
        allowed: set[str] = getattr(error, "allowed_methods", set())
        return BalancedError(
            "The method is not allowed for the requested URL.",
            status_code=405,
            category_code="method-not-allowed",
            headers={"Allow": ", ".join(sorted(allowed))},
        )
    if error.status == 413:
        return BalancedError("The request body is too large.", status_code=413)
    return BalancedError(
        error.reason, status_code=error.status if error.status in HTTP_REASONS else 400
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = ids.new_id("request")
    request[REQUEST_ID] = request_id
    try:
        return await handler(request)
    except BalancedError as error:
        return render(error, request_id)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return render(_from_http(error), request_id)
    except UNAVAILABLE:
        log.warning("dependency unavailable (request %s)", request_id, exc_info=True)
        unavailable = ServiceUnavailable(
            "The service is temporarily unavailable; retry shortly.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
        return render(unavailable, request_id)
    except Exception:
        log.exception("unexpected error (request %s)", request_id)
        bug = BalancedError(
            "An unexpected error occurred.", status_code=500, category_code="server-error"
        )
        return render(bug, request_id)
