"""A real rail on an ephemeral loopback port, for the tests that load it (`ballast load`)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp.test_utils import TestServer

from rails.app import RailConfig, create_app

RAIL_SECRET = "whsec_" + base64.b64encode(b"load-test-secret-0123456789abcdef").decode()


@contextlib.asynccontextmanager
async def running_rail(**settings: Any) -> AsyncIterator[str]:
    """The rail's base URL for the block; day_ms=0 decides outcomes at once. `settings`
    are RailConfig's (its control API: `open_control=True` or a `control_token`)."""
    config = RailConfig(secret=RAIL_SECRET, day_ms=0, **settings)
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
