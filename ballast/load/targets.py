"""The two targets a run can load: the rail alone (POST /entries, outcomes are the rail's
signed notifications) and the whole pipeline (transfers through the API, outcomes are the
marketplace's signed callbacks). What a notification or callback means is decided by
pure functions here, which the Locust workers (not on asyncio) use too."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ballast.load.client import ApiClient, FundedOrder, send_json
from ballast.load.config import (
    ACCOUNT_RETURNED,
    ACCOUNT_SUCCEEDS,
    ROUTING_NUMBER,
    LoadConfig,
    LoadError,
)
from ballast.load.railcontrol import ACCOUNT_CORRECTED, ACCOUNT_LATE_RETURN
from ballast.load.recorder import CORRECTED, RETURNED, SUCCEEDED, Outcomes
from ballast.load.scenario import Mix, Transfer

ACCOUNT_OF_VARIANT = {
    "succeeds": ACCOUNT_SUCCEEDS,
    "fails": ACCOUNT_RETURNED,
    "late_return": ACCOUNT_LATE_RETURN,
    "correction": ACCOUNT_CORRECTED,
}
RAIL_OUTCOMES = {
    "entry.settled": SUCCEEDED,
    "entry.returned": RETURNED,
    "entry.corrected": CORRECTED,
}
PIPELINE_OUTCOMES = {
    "credit.succeeded": SUCCEEDED,
    "credit.failed": RETURNED,
    "credit.returned": RETURNED,
}
FUNDING_CENTS_MAX = 10**12  # The API's largest amount: one card debit funds an order.


@dataclass(frozen=True)
class Submitted:
    """A transfer the target took: its id (to match outcomes to), the HTTP status, and
    whether the answer already is its outcome (a synchronous refund, say)."""

    transfer_id: str
    status: int
    completed: bool = False


class Driver(Protocol):
    """One target's way of setting up, of starting one transfer, of reading outcomes."""

    async def prepare(self, receiver_url: str) -> None: ...

    async def submit(self, index: int, transfer: Transfer) -> Submitted:
        """Start transfer `index`; raises RequestFailed when refused."""
        ...

    async def receive(self, request: web.Request) -> web.Response: ...


def rail_entry(run_id: str, index: int, transfer: Transfer, notify_url: str) -> dict[str, Any]:
    return {
        "id": f"LD-{run_id}-{index}",
        "kind": transfer.kind,
        "routing_number": ROUTING_NUMBER,
        "account_number": ACCOUNT_OF_VARIANT[transfer.variant],
        "name": "Load Test",
        "amount_cents": transfer.amount_cents,
        "notify_url": notify_url,
    }


def rail_outcomes(raw: bytes) -> list[tuple[str, str, int]]:
    """(message id, entry id, outcome) of each outcome in a rail notification. A rail
    started with --notify-batch-max sends outcomes ready together as a batch."""
    received = json.loads(raw)
    batch = received["notifications"] if received["type"] == "batch" else [received]
    found = []
    for notification in batch:
        outcome = RAIL_OUTCOMES.get(notification["type"])
        if outcome is not None:
            found.append((notification["id"], notification["entry"]["id"], outcome))
    return found


def pipeline_outcome(payload: dict[str, Any]) -> tuple[str, int] | None:
    """(credit id, outcome) of a verified callback's event, if it is a credit's outcome."""
    event = payload["events"][0]
    outcome = PIPELINE_OUTCOMES.get(event["type"])
    if outcome is None:
        return None
    return str(event["entity"]["credits"][0]["id"]), outcome


class RailDriver:
    def __init__(self, config: LoadConfig, session: aiohttp.ClientSession, outcomes: Outcomes):
        self._config = config
        self._session = session
        self._outcomes = outcomes
        self._run = secrets.token_hex(4)  # Ids unique to this run: the rail is idempotent.
        self._notify_url = ""
        self._webhook = None if config.rail_secret is None else Webhook(config.rail_secret)

    async def prepare(self, receiver_url: str) -> None:
        """Refuse a rail that does not answer at all before sending it any load: a run of
        nothing but errors tells less than one line saying why. (Any answer will do: what
        the rail answers to entries is what the run measures.)"""
        url = f"{self._config.url}/healthz"
        try:
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=5)):
                pass
        except (aiohttp.ClientError, TimeoutError) as error:
            raise LoadError(
                f"the rail at {self._config.url} does not answer: {error or type(error).__name__}"
            ) from None
        self._notify_url = receiver_url

    async def submit(self, index: int, transfer: Transfer) -> Submitted:
        body = rail_entry(self._run, index, transfer, self._notify_url)
        status, entry = await send_json(self._session, f"{self._config.url}/entries", body)
        return Submitted(str(entry["id"]), status)

    async def receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        at_s = time.monotonic()
        if self._webhook is not None:
            try:
                self._webhook.verify(raw, dict(request.headers))
            except WebhookVerificationError:
                self._outcomes.rejected += 1
                return web.Response(status=400)
        for message_id, entry_id, outcome in rail_outcomes(raw):
            self._outcomes.deliver(message_id, entry_id, outcome, at_s)
        return web.Response(status=204)


class PipelineDriver:
    def __init__(
        self,
        config: LoadConfig,
        session: aiohttp.ClientSession,
        outcomes: Outcomes,
        mix: Mix,
    ):
        self._config = config
        self._api = ApiClient(session, config.url)
        self._outcomes = outcomes
        self._mix = mix
        self._webhook: Webhook | None = None
        self._orders: list[FundedOrder] = []
        # Steps that move money through a merchant's payable account run one at a time per
        # order, as a merchant's settlements do: a settlement takes the whole balance.
        self._payable_locks: list[asyncio.Lock] = []

    async def prepare(self, receiver_url: str) -> None:
        await self._api.login()
        self._webhook = Webhook(await self._api.subscribe(receiver_url))
        config = self._config
        per_order = -(-config.transfers_max // config.orders)
        most_cents = max(step.amount_cents_max for step in self._mix.scenario.steps)
        funding_cents = min(FUNDING_CENTS_MAX, per_order * most_cents)
        accounts = tuple(ACCOUNT_OF_VARIANT.values())
        self._orders = await self._api.fund_orders_fully(config.orders, funding_cents, accounts)
        self._payable_locks = [asyncio.Lock() for _ in self._orders]

    async def submit(self, index: int, transfer: Transfer) -> Submitted:
        order_index = index % len(self._orders)
        order = self._orders[order_index]
        amount = transfer.amount_cents
        if transfer.kind == "credit":
            bank = order.bank_ids[list(ACCOUNT_OF_VARIANT).index(transfer.variant)]
            body = {"amount": amount, "order": order.order_id}
            status, credit = await self._api.send(f"/bank_accounts/{bank}/credits", body)
            return Submitted(str(credit["credits"][0]["id"]), status)
        if transfer.kind == "refund":
            status, refund = await self._api.send(
                f"/debits/{order.debit_id}/refunds", {"amount": amount}
            )
            return Submitted(str(refund["refunds"][0]["id"]), status, completed=True)
        async with self._payable_locks[order_index]:
            return await self._through_payable(order, transfer)

    async def _through_payable(self, order: FundedOrder, transfer: Transfer) -> Submitted:
        """A credit to the merchant's payable account, then its reversal or a settlement
        of the account to the merchant's bank: both answered at once by the API."""
        body = {"amount": transfer.amount_cents, "order": order.order_id}
        credited = await self._api.post(f"/accounts/{order.payable_account_id}/credits", body)
        credit_id = credited["credits"][0]["id"]
        if transfer.kind == "reversal":
            status, reversal = await self._api.send(f"/credits/{credit_id}/reversals", {})
            return Submitted(str(reversal["reversals"][0]["id"]), status, completed=True)
        assert transfer.kind == "settlement", "LoadConfig checks the scenario's kinds"
        path = f"/accounts/{order.payable_account_id}/settlements"
        status, settled = await self._api.send(path, {"funding_instrument": order.bank_ids[0]})
        return Submitted(str(settled["settlements"][0]["id"]), status, completed=True)

    async def receive(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode()
        at_s = time.monotonic()
        assert self._webhook is not None
        try:
            payload = self._webhook.verify(raw, dict(request.headers))
        except WebhookVerificationError:
            self._outcomes.rejected += 1
            return web.Response(status=400)
        found = pipeline_outcome(payload)
        if found is not None:
            self._outcomes.deliver(request.headers["webhook-id"], *found, at_s)
        return web.Response(status=204)
