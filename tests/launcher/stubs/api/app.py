"""Stand-in API: health, one API key, one marketplace (launcher tests only)."""

from __future__ import annotations

import base64

from aiohttp import web
from stub_record import record

from config import Settings

STUB_SECRET = "ak-test-stub0123456789"
STUB_MARKETPLACE_ID = "TEST-MPstub0123456789"


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def create_api_key(request: web.Request) -> web.Response:
    return web.json_response({"api_keys": [{"secret": STUB_SECRET}]}, status=201)


async def create_marketplace(request: web.Request) -> web.Response:
    expected = "Basic " + base64.b64encode(f"{STUB_SECRET}:".encode()).decode()
    if request.headers.get("Authorization") != expected or await request.json() != {}:
        return web.json_response({"errors": [{"status_code": 401}]}, status=401)
    return web.json_response({"marketplaces": [{"id": STUB_MARKETPLACE_ID}]}, status=201)


def run(settings: Settings) -> None:
    record(
        "api",
        {
            "api_port": settings.api_port,
            "rail_url": settings.rail_url,
            "reuse_port": settings.api_reuse_port,
        },
    )
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api_keys", create_api_key)
    app.router.add_post("/marketplaces", create_marketplace)
    web.run_app(
        app,
        host=settings.api_host,
        port=settings.api_port,
        reuse_port=settings.api_reuse_port,
        print=None,
    )
