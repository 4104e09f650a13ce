"""Stand-in rail: the same configuration type, and a health endpoint (launcher tests only)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web
from stub_record import record


@dataclass(frozen=True)
class RailConfig:
    host: str
    port: int
    day_ms: int
    secret: str
    rules_path: Path | None


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def run(config: RailConfig) -> None:
    record("rail", {"config": {**asdict(config), "rules_path": str(config.rules_path)}})
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host=config.host, port=config.port, print=None)
