"""Fixtures for the rail's tests: the real rail app on an ephemeral loopback port, and a
real aiohttp server standing in for the receiver of its notifications. No mocks."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from rails.app import RailConfig, bank_key, create_app
from rails.bank import Bank

SECRET = "whsec_" + base64.b64encode(b"rail-test-secret-0123456789abcdef").decode()
CONTROL_TOKEN = "rail-test-control-token-0123456789abcdef"
CONTROL_HEADERS = {"Authorization": f"Bearer {CONTROL_TOKEN}"}
# Notification retries in tests: 1 ms apart, so a failing receiver never makes a test wait.
CONFIG = RailConfig(
    secret=SECRET, control_token=CONTROL_TOKEN, notify_retry_base_ms=1, notify_max_attempts=5
)
WAIT_S = 5.0  # Generous upper bound for one notification; normally milliseconds.


@dataclass
class Receiver:
    """Records every notification it accepts; answers 500 to the first `fail_next`."""

    url: str = ""
    fail_next: int = 0
    attempts: int = 0
    queue: asyncio.Queue[tuple[dict[str, Any], bytes, dict[str, str]]] = field(
        default_factory=asyncio.Queue
    )

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500)
        self.queue.put_nowait((json.loads(body), body, dict(request.headers)))
        return web.Response(status=204)

    async def next(self) -> dict[str, Any]:
        """The next notification's body."""
        body, _, _ = await self.next_raw()
        return body

    async def next_raw(self) -> tuple[dict[str, Any], bytes, dict[str, str]]:
        async with asyncio.timeout(WAIT_S):
            return await self.queue.get()


@dataclass
class Rail:
    client: TestClient[web.Request, web.Application]
    app: web.Application

    @property
    def bank(self) -> Bank:
        return self.app[bank_key]

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A request with the control token (which the rail ignores on entries)."""
        async with self.client.request(
            method, path, json=body, headers=CONTROL_HEADERS
        ) as response:
            return response.status, await response.json()

    async def submit(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        return await self.call("POST", "/entries", entry_body(**fields))


def entry_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "CR-1",
        "kind": "credit",
        "routing_number": "021000021",
        "account_number": "9900000002",
        "name": "Jane Doe",
        "amount_cents": 1234,
        "notify_url": None,
    }
    body.update(fields)
    return body


@asynccontextmanager
async def running_rail(config: RailConfig = CONFIG) -> AsyncIterator[Rail]:
    app = create_app(config)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Rail(client, app)
    finally:
        await client.close()


@pytest.fixture
def make_rail() -> Callable[..., AbstractAsyncContextManager[Rail]]:
    """`async with make_rail(rules_path=...) as rail:` for a rail with its own config."""
    return lambda **changes: running_rail(replace(CONFIG, **changes))


@pytest.fixture
async def rail() -> AsyncIterator[Rail]:
    async with running_rail() as started:
        yield started


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorder = Receiver()
    app = web.Application()
    app.router.add_post("/hook", recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recorder.url = str(server.make_url("/hook"))
    try:
        yield recorder
    finally:
        await server.close()
