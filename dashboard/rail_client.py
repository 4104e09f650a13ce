"""The rail's control API, called from the server for the Rail page.

The rail is a service of its own (rails/); its control API (clock, simulations, rules,
NACHA files) needs `Authorization: Bearer <control token>`. The API process has the token
in its settings (BALLAST_RAIL_CONTROL_TOKEN, given by `ballast up`); without it the Rail
page says the rail is not configured. The token only ever travels in that header: no page,
log line or error message carries it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from dashboard import context

# A rail that takes longer than this is reported as not answering (it answers in ms).
RAIL_TIMEOUT_S = 5.0
# The most of a rail's answer a page reads (a NACHA file of 10k entries is ~1 MB).
RESPONSE_BYTES_MAX = 8 * 1024 * 1024

RAIL_HTTP = web.AppKey("dashboard_rail_http", aiohttp.ClientSession)


async def http_session(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx of the dashboard: one HTTP client for every call to the rail."""
    timeout = aiohttp.ClientTimeout(total=RAIL_TIMEOUT_S)
    # trust_env=False: a loopback rail must never be reached through a proxy.
    async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
        app[RAIL_HTTP] = session
        yield


class RailError(Exception):
    """The rail refused (its own `error` text) or did not answer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Rail:
    http: aiohttp.ClientSession
    base_url: str
    token: str

    async def _call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self.http.request(
                method, self.base_url + path, data=body, headers=headers
            ) as response:
                data = await response.content.read(RESPONSE_BYTES_MAX)
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RailError(f"The rail at {self.base_url} is not answering.") from error
        if status >= 400:
            raise RailError(_error_text(data, status))
        return data

    async def _json(self, method: str, path: str, body: Any = None) -> Any:
        raw = None if body is None else json.dumps(body).encode()
        return json.loads(await self._call(method, path, raw))

    async def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._json("GET", "/clock")
        return result

    async def set_frozen(self, frozen: bool) -> dict[str, Any]:
        result: dict[str, Any] = await self._json("PUT", "/clock", {"frozen": frozen})
        return result

    async def advance(self, *, banking_days: int | None = None, ms: int | None = None) -> None:
        body = {"banking_days": banking_days} if banking_days is not None else {"ms": ms}
        await self._json("POST", "/clock/advance", body)

    async def simulate(self, entry_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/simulations/entries/{quote(entry_id, safe='')}/{action}"
        result: dict[str, Any] = await self._json("POST", path, body)
        return result

    async def entry(self, entry_id: str) -> dict[str, Any] | None:
        """The rail's entry, or None when it has none of that id (not submitted yet)."""
        try:
            result: dict[str, Any] = await self._json("GET", f"/entries/{quote(entry_id, safe='')}")
        except RailError as error:
            if error.message == "no such entry":
                return None
            raise
        return result

    async def rules(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._json("GET", "/rules")
        return result

    async def put_rules(self, text: str) -> list[dict[str, Any]]:
        """Replace the rules with `text` (a JSON list, validated by the rail)."""
        result: list[dict[str, Any]] = json.loads(await self._call("PUT", "/rules", text.encode()))
        return result

    async def files(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._json("GET", "/files")
        return result

    async def file(self, name: str) -> bytes:
        return await self._call("GET", f"/files/{quote(name, safe='')}")


def _error_text(data: bytes, status: int) -> str:
    try:
        message = json.loads(data)["error"]
    except (ValueError, KeyError, TypeError):
        message = None
    return message if isinstance(message, str) else f"The rail answered {status}."


def rail(request: web.Request) -> Rail | None:
    """The rail's control API, or None when this API has no control token."""
    settings = context.settings(request)
    if not settings.rail_control_token:
        return None
    return Rail(request.app[RAIL_HTTP], settings.rail_url.rstrip("/"), settings.rail_control_token)
