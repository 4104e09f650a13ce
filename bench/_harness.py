"""What the benchmarks share: a running system (started here with `ballast up
--rail-day-ms 0`, or given by URL), a small Balanced client, and a local HTTP receiver."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

STARTUP_TIMEOUT_S = 120
# The run fails rather than hang if the pipeline stalls.
DRAIN_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def system(api_url: str | None, workers: int) -> AsyncIterator[str]:
    if api_url is not None:
        yield api_url
        return
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
        [
            sys.executable,
            "-m",
            "ballast",
            "up",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--rail-day-ms",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(url)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


async def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise SystemExit(f"the system at {url} did not become healthy")


class Client:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url, self.auth = session, url, ""

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": self.auth} if self.auth else {}
        async with self.session.post(
            self.url + path, data=json.dumps(body), headers=headers
        ) as response:
            payload: dict[str, Any] = await response.json(content_type=None)
            if response.status not in (200, 201):
                raise SystemExit(f"POST {path} → {response.status}: {payload}")
            return payload

    async def login(self) -> None:
        secret = (await self.post("/api_keys", {}))["api_keys"][0]["secret"]
        self.auth = "Basic " + base64.b64encode(f"{secret}:".encode()).decode()
        await self.post("/marketplaces", {})

    async def put(self, path: str, body: dict[str, Any]) -> None:
        async with self.session.put(
            self.url + path, data=json.dumps(body), headers={"Authorization": self.auth}
        ) as response:
            assert response.status == 200, await response.text()


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
