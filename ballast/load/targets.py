"""The two targets a run can load: the rail alone (POST /entries, outcomes are the rail's
signed notifications) and the whole pipeline (credits through the API, outcomes are the
marketplace's signed callbacks)."""

from __future__ import annotations

import json
import secrets
from typing import Protocol

import aiohttp
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ballast.load.client import ApiClient, request_json
from ballast.load.config import (
    ACCOUNT_RETURNED,
    ACCOUNT_SUCCEEDS,
    AMOUNT_CENTS,
    ROUTING_NUMBER,
    LoadConfig,
    is_returned,
)
from ballast.load.recorder import RETURNED, SUCCEEDED, Outcomes


class Driver(Protocol):
    """One target's way of setting up and of starting one transfer."""

    async def prepare(self, receiver_url: str) -> None: ...

    async def submit(self, index: int) -> str:
        """Start transfer `index`; returns its id, raises LoadError when refused."""
        ...

    async def receive(self, request: web.Request) -> web.Response: ...


class RailDriver:
    def __init__(self, config: LoadConfig, session: aiohttp.ClientSession, outcomes: Outcomes):
        self._config = config
        self._session = session
        self._outcomes = outcomes
        self._run = secrets.token_hex(4)  # Ids unique to this run: the rail is idempotent.
        self._notify_url = ""
        self._webhook = None if config.rail_secret is None else Webhook(config.rail_secret)

    async def prepare(self, receiver_url: str) -> None:
        self._notify_url = receiver_url

    async def submit(self, index: int) -> str:
        returned = is_returned(index, self._config.returns_percent)
        body = {
            "id": f"LD-{self._run}-{index}",
            "kind": "credit",
            "routing_number": ROUTING_NUMBER,
            "account_number": ACCOUNT_RETURNED if returned else ACCOUNT_SUCCEEDS,
            "name": "Load Test",
            "amount_cents": AMOUNT_CENTS,
            "notify_url": self._notify_url,
        }
        entry = await request_json(self._session, f"{self._config.url}/entries", body)
        return str(entry["id"])

    async def receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self._webhook is not None:
            try:
                self._webhook.verify(raw, dict(request.headers))
            except WebhookVerificationError:
                self._outcomes.rejected += 1
                return web.Response(status=400)
        received = json.loads(raw)
        # A rail started with --notify-batch-max sends outcomes ready together as a batch.
        batch = received["notifications"] if received["type"] == "batch" else [received]
        for notification in batch:
            outcome = {"entry.settled": SUCCEEDED, "entry.returned": RETURNED}.get(
                notification["type"]
            )
            if outcome is not None:
                entry_id = notification["entry"]["id"]
                self._outcomes.deliver(notification["id"], entry_id, outcome)
        return web.Response(status=204)


class PipelineDriver:
    def __init__(self, config: LoadConfig, session: aiohttp.ClientSession, outcomes: Outcomes):
        self._config = config
        self._api = ApiClient(session, config.url)
        self._outcomes = outcomes
        self._webhook: Webhook | None = None
        # (order, (good bank, failing bank)) for each funded order.
        self._orders: list[tuple[str, tuple[str, ...]]] = []

    async def prepare(self, receiver_url: str) -> None:
        await self._api.login()
        self._webhook = Webhook(await self._api.subscribe(receiver_url))
        per_order = -(-self._config.transfers_max // self._config.orders)
        self._orders = await self._api.fund_orders(
            self._config.orders, per_order * AMOUNT_CENTS, (ACCOUNT_SUCCEEDS, ACCOUNT_RETURNED)
        )

    async def submit(self, index: int) -> str:
        order_id, (good_bank, failing_bank) = self._orders[index % len(self._orders)]
        bank = failing_bank if is_returned(index, self._config.returns_percent) else good_bank
        body = {"amount": AMOUNT_CENTS, "order": order_id}
        credit = await self._api.post(f"/bank_accounts/{bank}/credits", body)
        return str(credit["credits"][0]["id"])

    async def receive(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode()
        assert self._webhook is not None
        try:
            payload = self._webhook.verify(raw, dict(request.headers))
        except WebhookVerificationError:
            self._outcomes.rejected += 1
            return web.Response(status=400)
        event = payload["events"][0]
        outcome = {"credit.succeeded": SUCCEEDED, "credit.failed": RETURNED}.get(event["type"])
        if outcome is not None:
            credit_id = event["entity"]["credits"][0]["id"]
            self._outcomes.deliver(request.headers["webhook-id"], credit_id, outcome)
        return web.Response(status=204)
