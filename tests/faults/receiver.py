"""A marketplace's callback endpoint for fault runs: verifies every signature, deduplicates
on `webhook-id` the way the README tells receivers to, and counts. Lean on purpose (a
large run receives tens of thousands of deliveries): it keeps one small record per
message, not the bodies."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from ballast.embedded import free_port

LOOPBACK = "127.0.0.1"


@dataclass
class Message:
    event_type: str
    entity_id: str


@dataclass
class Receiver:
    secret: str = ""  # Set once the callback exists (POST /callbacks returns it).
    # webhook-id → what it carried, for each message accepted (deduplicated).
    messages: dict[str, Message] = field(default_factory=dict)
    # webhook-id → deliveries received, duplicates included.
    deliveries: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0

    @property
    def redeliveries(self) -> int:
        return sum(self.deliveries.values()) - len(self.deliveries)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        try:
            Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.bad_signatures += 1
            return web.Response(status=400)
        message_id = request.headers["webhook-id"]
        self.deliveries[message_id] += 1
        if message_id not in self.messages:
            event = json.loads(body)["events"][0]
            entity = event["entity"]
            plural = next(key for key in entity if key != "links")
            self.messages[message_id] = Message(event["type"], entity[plural][0]["id"])
        return web.Response(status=204)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Serve on a free loopback port; yields the callback URL."""
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, LOOPBACK, port).start()
        try:
            yield f"http://{LOOPBACK}:{port}/hooks"
        finally:
            await runner.cleanup()
