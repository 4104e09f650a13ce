"""A marketplace's callback endpoint for tests: records every request it receives."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Delivery:
    method: str
    headers: dict[str, str]
    body: str

    @property
    def event(self) -> dict[str, Any]:
        import json

        events: list[dict[str, Any]] = json.loads(self.body)["events"]
        assert len(events) == 1
        return events[0]


@dataclass
class Receiver:
    """Answers `status` (200 by default) and keeps what it received, in order."""

    status: int = 200
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        delivery = Delivery(request.method, dict(request.headers), await request.text())
        async with self.arrived:
            self.deliveries.append(delivery)
            self.arrived.notify_all()
        return web.Response(status=self.status, text="ok")

    def of_type(self, event_type: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.event["type"] == event_type]

    async def wait_for(self, event_type: str, entity_id: str, timeout_s: float = 15.0) -> Delivery:
        def found() -> Delivery | None:
            for delivery in self.of_type(event_type):
                entity = delivery.event["entity"]
                plural = next(key for key in entity if key != "links")
                if entity[plural][0]["id"] == entity_id:
                    return delivery
            return None

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(found), timeout_s)
        result = found()
        assert result is not None
        return result
