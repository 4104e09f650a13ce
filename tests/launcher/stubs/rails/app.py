"""Stand-in rail: records the real configuration it is given, serves health (launcher
tests only)."""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web
from stub_record import record

from rails.config import RailConfig


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def run(config: RailConfig) -> None:
    record("rail", {"config": asdict(config)})
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=config.host, port=config.port, print=None)
