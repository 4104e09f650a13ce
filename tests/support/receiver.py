"""A marketplace's callback endpoint for tests: records every request it receives and
answers as scripted (status, headers, a delay)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Delivery:
    method: str
    headers: dict[str, str]
    body: str
    received_at: float

    @property
    def event(self) -> dict[str, Any]:
        events: list[dict[str, Any]] = json.loads(self.body)["events"]
        assert len(events) == 1
        return events[0]

    @property
    def entity_id(self) -> str:
        entity = self.event["entity"]
        plural = next(key for key in entity if key != "links")
        entity_id: str = entity[plural][0]["id"]
        return entity_id


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Receiver:
    """Answers each message's attempts from `script` in order (the first attempt of every
    message gets `script[0]`, …), then with `status` after `delay_s`. The first
    `outage_requests` requests, whatever their message, get a 503: a receiver that is down
    for a while."""

    status: int = 200
    script: list[Answer] = field(default_factory=list)
    delay_s: float = 0.0
    outage_requests: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def _answer(self, message_id: str) -> Answer:
        if len(self.deliveries) <= self.outage_requests:
            return Answer(503)
        attempt = sum(1 for d in self.deliveries if d.headers.get("webhook-id") == message_id)
        if attempt <= len(self.script):
            return self.script[attempt - 1]
        return Answer(self.status, delay_s=self.delay_s)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        delivery = Delivery(
            request.method,
            dict(request.headers),
            await request.text(),
            asyncio.get_running_loop().time(),
        )
        async with self.arrived:
            self.deliveries.append(delivery)
            self.arrived.notify_all()
        answer = self._answer(delivery.headers.get("webhook-id", ""))
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        return web.Response(status=answer.status, text="ok", headers=answer.headers)

    def of_type(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.event["type"] == event_type]

    async def wait_until(self, predicate: Any, timeout_s: float = 15.0) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(predicate), timeout_s)

    async def wait_for(self, event_type: str, entity_id: str, timeout_s: float = 15.0) -> Delivery:
        def found() -> Delivery | None:
            for delivery in self.of_type(event_type):
                if delivery.entity_id == entity_id:
                    return delivery
            return None

        await self.wait_until(found, timeout_s)
        result = found()
        assert result is not None
        return result
