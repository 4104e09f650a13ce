"""HTTP both ways for load: JSON requests, the Balanced API as a marketplace sets itself
up (API key, marketplace, callback, funded orders), and a local receiver for what comes
back. The benchmarks in bench/ use the same client."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from ballast.load.config import CARD_NUMBER, ROUTING_NUMBER, LoadError

REQUEST_TIMEOUT_S = 30.0  # One request's budget; a slower answer counts as an error.
STATUS_NO_ANSWER = 0  # The status recorded for a request that got no HTTP answer.


class RequestFailed(LoadError):
    """A request refused (`status` is the HTTP status) or unanswered (status 0)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FundedOrder:
    """An order of a merchant of its own, funded by a card debit, with a bank account per
    requested account number and the merchant's payable account."""

    order_id: str
    bank_ids: tuple[str, ...]
    debit_id: str
    payable_account_id: str


async def request_json(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any] | None,
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    """One JSON request; anything but 200/201 is a RequestFailed carrying the answer."""
    return (await send_json(session, url, body, headers=headers, method=method))[1]


async def send_json(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any] | None,
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, Any]]:
    """As request_json, with the HTTP status (200 or 201) of the answer."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    try:
        async with session.request(
            method, url, json=body, headers=headers, timeout=timeout
        ) as response:
            payload = await response.read()
            if response.status not in (200, 201):
                message = f"{method} {url} answered {response.status}: {payload[:200]!r}"
                raise RequestFailed(message, response.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        raise RequestFailed(f"{method} {url} failed: {error!r}", STATUS_NO_ANSWER) from None
    answer: dict[str, Any] = json.loads(payload)
    return response.status, answer


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

    async def send(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST `body`; the status of the answer with it."""
        url = f"{self.url}{path}"
        return await send_json(self.session, url, body, headers=self._headers)

    async def get(self, path: str) -> dict[str, Any]:
        url = f"{self.url}{path}"
        return await request_json(self.session, url, None, headers=self._headers, method="GET")

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
        funded = await self.fund_orders_fully(orders, amount_cents, account_numbers)
        return [(order.order_id, order.bank_ids) for order in funded]

    async def fund_orders_fully(
        self, orders: int, amount_cents: int, account_numbers: tuple[str, ...]
    ) -> list[FundedOrder]:
        """As fund_orders, with each order's debit and its merchant's payable account."""
        card_body = {"number": CARD_NUMBER, "expiration_month": 12, "expiration_year": 2030}
        card = (await self.post("/cards", card_body))["cards"][0]["id"]
        return [
            await self._funded_order(index, card, amount_cents, account_numbers)
            for index in range(orders)
        ]

    async def _funded_order(
        self, index: int, card: str, amount_cents: int, account_numbers: tuple[str, ...]
    ) -> FundedOrder:
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
        debit_body = {"amount": amount_cents, "order": order}
        debit = (await self.post(f"/cards/{card}/debits", debit_body))["debits"][0]["id"]
        accounts = await self.get(f"/customers/{merchant_id}/accounts")
        payable = accounts["accounts"][0]["id"]
        return FundedOrder(order, tuple(banks), debit, payable)


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
