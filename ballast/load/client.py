"""HTTP both ways for load: JSON requests, the Balanced API as a marketplace sets itself
up (API key, marketplace, callback, funded orders), and a local receiver for what comes
back. The benchmarks in bench/ use the same client."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from ballast.load.config import CARD_NUMBER, ROUTING_NUMBER, LoadError

REQUEST_TIMEOUT_S = 30.0  # One request's budget; a slower answer counts as an error.


async def request_json(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    """One JSON request; anything but 200/201 is a LoadError carrying the answer."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    try:
        async with session.request(
            method, url, json=body, headers=headers, timeout=timeout
        ) as response:
            payload = await response.read()
            if response.status not in (200, 201):
                raise LoadError(f"{method} {url} answered {response.status}: {payload[:200]!r}")
    except (aiohttp.ClientError, TimeoutError) as error:
        raise LoadError(f"{method} {url} failed: {error!r}") from None
    answer: dict[str, Any] = json.loads(payload)
    return answer


class ApiClient:
    """The Balanced API at `url`, as one marketplace: after login(), every request carries
    its API key. A refused request is a LoadError."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self._headers: dict[str, str] = {}

    async def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.url}{path}"
        return await request_json(self.session, url, body, headers=self._headers, method=method)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", path, body)

    async def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PUT", path, body)

    async def login(self) -> None:
        """Create an API key (the first one needs no credentials) and its marketplace."""
        key = (await self.post("/api_keys", {}))["api_keys"][0]["secret"]
        token = base64.b64encode(f"{key}:".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        await self.post("/marketplaces", {"name": "Load test"})

    async def subscribe(self, url: str) -> str:
        """Subscribe `url` to the marketplace's events; returns the callback's secret."""
        callback = (await self.post("/callbacks", {"url": url}))["callbacks"][0]
        return str(callback["secret"])

    async def fund_orders(
        self, orders: int, amount_cents: int, account_numbers: tuple[str, ...]
    ) -> list[tuple[str, tuple[str, ...]]]:
        """`orders` orders, each of a merchant of its own with a bank account per account
        number, each funded with `amount_cents` by a card debit. Returns (order id, bank
        account ids in the order of `account_numbers`) for each."""
        card_body = {"number": CARD_NUMBER, "expiration_month": 12, "expiration_year": 2030}
        card = (await self.post("/cards", card_body))["cards"][0]["id"]
        return [
            await self._funded_order(index, card, amount_cents, account_numbers)
            for index in range(orders)
        ]

    async def _funded_order(
        self, index: int, card: str, amount_cents: int, account_numbers: tuple[str, ...]
    ) -> tuple[str, tuple[str, ...]]:
        merchant = await self.post("/customers", {"name": f"Load merchant {index}"})
        merchant_id = merchant["customers"][0]["id"]
        banks = []
        for account_number in account_numbers:
            bank_body = {
                "name": f"Load merchant {index}",
                "routing_number": ROUTING_NUMBER,
                "account_number": account_number,
                "account_type": "checking",
            }
            created = await self.post("/bank_accounts", bank_body)
            bank_id = created["bank_accounts"][0]["id"]
            await self.put(f"/bank_accounts/{bank_id}", {"links": {"customer": merchant_id}})
            banks.append(bank_id)
        order = (await self.post(f"/customers/{merchant_id}/orders", {}))["orders"][0]["id"]
        await self.post(f"/cards/{card}/debits", {"amount": amount_cents, "order": order})
        return order, tuple(banks)


@contextlib.asynccontextmanager
async def serve(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve `app` on an ephemeral port of `host` for the block; yields its base URL. The
    port is bound here and handed to the server, so no other process can take it between."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((host, 0))
        port = listener.getsockname()[1]
        await web.SockSite(runner, listener).start()
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        yield f"http://{shown}:{port}"
    finally:
        await runner.cleanup()
