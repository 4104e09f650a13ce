"""JSON responses exactly as Balanced clients expect them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# Balanced clients compare the content type literally: no charset suffix.
CONTENT_TYPE = "application/json"


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        headers={"Content-Type": CONTENT_TYPE} | (headers or {}),
    )


def no_content() -> web.Response:
    return web.Response(status=204)
