"""The whole system for tests: the real rail service, the real API and a real arq worker,
each on loopback HTTP or a real Redis queue, against a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import tempfile
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestServer
from arq import Worker

from api.app import create_app
from ballast.launcher import RAIL_NOTIFY_BATCH_MAX
from config import Settings
from rails.app import create_app as create_rail_app
from rails.config import RailConfig
from workers.main import create_worker

# How long a test waits for the pipeline to reach a state before it fails: generous
# against a loaded CI machine, while a healthy pipeline takes tens of milliseconds.
WAIT_TIMEOUT_S = 15.0
WAIT_POLL_S = 0.02


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class Api:
    """A Balanced client: HTTP Basic with the key secret, JSON in and out."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, secret: str | None = None):
        self.session = session
        self.base_url = base_url
        self.secret = secret

    def as_key(self, secret: str | None) -> Api:
        return Api(self.session, self.base_url, secret)

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        headers = dict(headers or {})
        if self.secret:
            token = base64.b64encode(f"{self.secret}:".encode()).decode()
            headers.setdefault("Authorization", f"Basic {token}")
        async with self.session.request(
            method, self.base_url + path, json=json, data=data, headers=headers
        ) as response:
            text = await response.text()
            body = {} if not text else await response.json(content_type=None)
            return Response(response.status, body, dict(response.headers))

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Response:
        return await self.request("POST", path, json if json is not None else {}, **kwargs)

    async def put(self, path: str, json: Any) -> Response:
        return await self.request("PUT", path, json)

    async def delete(self, path: str) -> Response:
        return await self.request("DELETE", path)


def random_rail_secret() -> str:
    """A Standard Webhooks secret for the rail, new for each use."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Pipeline:
    settings: Settings
    rail_secret: str
    # The rail's control API token (simulations, clock, rules): see `rail_control_headers`.
    rail_control_token: str
    pool: asyncpg.Pool
    http: aiohttp.ClientSession
    api_server: TestServer
    rail_server: TestServer
    worker: Worker | None = None
    worker_task: asyncio.Task[None] | None = None
    servers: list[TestServer] = field(default_factory=list)
    nacha_dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def api(self) -> Api:
        return Api(self.http, str(self.api_server.make_url("")).rstrip("/"))

    @property
    def rail_url(self) -> str:
        return str(self.rail_server.make_url("")).rstrip("/")

    @property
    def rail_control_headers(self) -> dict[str, str]:
        """What a test sends with a call to the rail's control API."""
        return {"Authorization": f"Bearer {self.rail_control_token}"}

    async def start_worker(self) -> None:
        assert self.worker_task is None
        self.worker = create_worker(self.settings, handle_signals=False)
        self.worker_task = asyncio.create_task(self.worker.async_run())

    async def stop_worker(self) -> None:
        assert self.worker is not None and self.worker_task is not None
        self.worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker_task
        # Jobs still running were cancelled with the worker; arq's close() gathers them and
        # re-raises their CancelledError.
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker.close()
        self.worker, self.worker_task = None, None

    async def serve(self, app: web.Application) -> TestServer:
        """Serve another app (a callback receiver) on loopback for the pipeline to call."""
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self.servers.append(server)
        return server

    async def close(self) -> None:
        if self.worker_task is not None:
            await self.stop_worker()
        for server in [*self.servers, self.api_server, self.rail_server]:
            await server.close()
        await self.http.close()
        await self.pool.close()
        if self.nacha_dir is not None:
            self.nacha_dir.cleanup()


async def start_pipeline(settings: Settings, pool: asyncpg.Pool) -> Pipeline:
    control_token = secrets.token_urlsafe(32)
    # The rail writes its NACHA files (the dashboard's Rail page lists and parses them);
    # in instant mode at most one a second, so this costs the suite next to nothing.
    nacha_dir = tempfile.TemporaryDirectory(prefix="ballast-nacha-")
    rail_config = RailConfig(
        secret=settings.rail_secret,
        control_token=control_token,
        day_ms=0,
        notify_batch_max=RAIL_NOTIFY_BATCH_MAX,
        nacha_dir=nacha_dir.name,
    )
    rail_server = TestServer(create_rail_app(rail_config), host="127.0.0.1")
    await rail_server.start_server()
    settings = settings.model_copy(
        update={
            "rail_url": str(rail_server.make_url("")).rstrip("/"),
            "rail_control_token": control_token,
        }
    )
    api_server = TestServer(create_app(settings), host="127.0.0.1")
    await api_server.start_server()
    settings = settings.model_copy(
        update={"api_public_url": str(api_server.make_url("")).rstrip("/")}
    )
    pipeline = Pipeline(
        settings=settings,
        rail_secret=settings.rail_secret,
        rail_control_token=control_token,
        pool=pool,
        http=aiohttp.ClientSession(),
        api_server=api_server,
        rail_server=rail_server,
        nacha_dir=nacha_dir,
    )
    await pipeline.start_worker()
    return pipeline


async def eventually(check: Any, timeout_s: float = WAIT_TIMEOUT_S) -> Any:
    """Await `check()` until it returns something truthy; fail after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s: {check}")
        await asyncio.sleep(WAIT_POLL_S)
