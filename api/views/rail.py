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

# Most notifications one batch may carry: bounds what one request makes us write in one
# statement. The rail's batches stay under our body limit (its NOTIFY_BATCH_BYTES_MAX), a
# few dozen notifications of ~1 KiB; this also bounds batches of small ones.
NOTIFICATION_BATCH_MAX = 200


async def rail_notification(request: web.Request) -> web.Response:
    """The rail pushes each outcome here, signed with the shared rail secret, alone or in a
    batch (`{"type": "batch", "notifications": [...]}`). We keep each as an outbox job
    (deduplicated by the notification id) and answer at once; the jobs apply them. The rail
    retries until it gets a 2xx, so nothing is lost in between."""
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
        outcomes = [RailOutcome.from_notification(item) for item in _notifications(decoded)]
    except MalformedNotification as error:
        raise RequestInvalid(f"The rail notification is malformed: {error}.") from error
    async with transaction(request) as connection:
        jobs = await submissions.accept_outcomes(connection, outcomes)
    await after_commit(request, jobs)
    return web.Response(status=204)


def _notifications(decoded: object) -> list[object]:
    """The notifications a request carries: itself, or a batch's."""
    if not isinstance(decoded, dict) or decoded.get("type") != "batch":
        return [decoded]
    batch = decoded.get("notifications")
    if not isinstance(batch, list) or not 1 <= len(batch) <= NOTIFICATION_BATCH_MAX:
        raise MalformedNotification(
            f"a batch carries 1 to {NOTIFICATION_BATCH_MAX} notifications in a list"
        )
    return batch


async def health(request: web.Request) -> web.Response:
    await db.ping(request.app[POOL])
    return json_response({"status": "ok"})
