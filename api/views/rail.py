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


async def rail_notification(request: web.Request) -> web.Response:
    """The rail pushes each outcome here, signed with the shared rail secret. We keep it as
    an outbox job (deduplicated by the notification id) and answer at once; the job
    applies it. The rail retries until it gets a 2xx, so nothing is lost in between."""
    try:
        body = (await request.read()).decode()
    except UnicodeDecodeError as error:
        raise RequestInvalid("A rail notification is UTF-8 JSON.") from error
    try:
        Webhook(request.app[SETTINGS].rail_secret).verify(body, dict(request.headers))
    except WebhookVerificationError as error:
        raise Unauthorized(f"The rail notification's signature is not valid: {error}.") from error
    notification = json.loads(body)
    if not isinstance(notification, dict) or "id" not in notification:
        raise RequestInvalid("A rail notification needs an id.")
    async with transaction(request) as connection:
        jobs = await submissions.accept_outcome(connection, notification)
    await after_commit(request, jobs)
    return web.Response(status=204)


async def health(request: web.Request) -> web.Response:
    await db.ping(request.app[POOL])
    return json_response({"status": "ok"})
