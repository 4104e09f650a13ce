"""The rail's outcome notifications, and the health check."""

from __future__ import annotations

import json

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api.appkeys import POOL, SETTINGS
from api.responses import json_response
from api.views.common import after_commit, transaction
from ledger import db, submissions
from ledger.errors import RequestInvalid, Unauthorized
from ledger.records import MalformedNotification, RailOutcome


async def rail_notification(request: web.Request) -> web.Response:
    """The rail pushes each outcome here, signed with the shared rail secret. We keep it as
    an outbox job (deduplicated by the notification id) and answer at once; the job
    applies it. The rail retries until it gets a 2xx, so nothing is lost in between."""
    try:
        body = (await request.read()).decode()
    except UnicodeDecodeError as error:
        raise RequestInvalid("A rail notification is UTF-8 JSON.") from error
    try:
        # Verified first: only then does it decode the body (and a bad body is a 400).
        decoded = Webhook(request.app[SETTINGS].rail_secret).verify(body, dict(request.headers))
    except WebhookVerificationError as error:
        raise Unauthorized(f"The rail notification's signature is not valid: {error}.") from error
    except json.JSONDecodeError as error:
        raise RequestInvalid("A rail notification is UTF-8 JSON.") from error
    try:
        outcome = RailOutcome.from_notification(decoded)
    except MalformedNotification as error:
        raise RequestInvalid(f"The rail notification is malformed: {error}.") from error
    async with transaction(request) as connection:
        jobs = await submissions.accept_outcome(connection, outcome)
    await after_commit(request, jobs)
    return web.Response(status=204)


async def health(request: web.Request) -> web.Response:
    await db.ping(request.app[POOL])
    return json_response({"status": "ok"})
