"""Traffic for fault runs: a Balanced client that behaves like a careful real one (every
POST under an Idempotency-Key, retried with the same key on 503, 429, a broken
connection or a key still in use, honouring Retry-After), and the marketplace activity it
drives: funded orders, then credits to bank accounts, payable-account credits and their
settlements, refunds, and reversals of succeeded credits.

The client keeps its own record of every transfer the API confirmed. After a run, that
record and the database must match exactly: a transfer the client was told about but the
database lacks is lost; one the database has but the client never got is a duplicate
(a retried POST that ran twice)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.faults.receiver import Receiver

# Statuses a client retries with the same Idempotency-Key: the request did not run, or its
# outcome is kept for the retry to collect.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IN_USE = "idempotency-key-in-use"
# A client retries for this long before it reports the API as down. Longer than any fault
# a run injects, plus the API's take-over of an abandoned Idempotency-Key.
RETRY_FOR_S = 120.0
# Between retries: Retry-After when given (capped), else this.
RETRY_DELAY_S = 0.2
RETRY_DELAY_S_MAX = 2.0
REQUEST_TIMEOUT_S = 30.0
# How long a unit waits for its first credit to succeed before it reverses it.
CREDIT_WAIT_S = 180.0
CREDIT_POLL_S = 0.25

VISA = "4111111111111111"
ROUTING = "021000021"
ACCOUNT_SUCCEEDS = "9900000002"
ACCOUNT_FAILS = "9900000004"
# The rail keeps entries to this account pending until a simulation decides them.
ACCOUNT_STAYS_PENDING = "9900000000"
# One unit's money (cents): the debit funds the order; three bank credits, one payable
# account credit (then settled to the bank), one refund; one credit is reversed.
DEBIT_CENTS = 10_000
CREDIT_CENTS = 1_000
BANK_CREDITS = 3
ACCOUNT_CREDIT_CENTS = 2_000
REFUND_CENTS = 1_000
assert BANK_CREDITS * CREDIT_CENTS + ACCOUNT_CREDIT_CENTS + REFUND_CENTS <= DEBIT_CENTS


class ApiFailed(Exception):
    """The API answered something a correct client cannot retry its way out of."""


@dataclass
class Stats:
    requests: int = 0
    retries: Counter[str] = field(default_factory=Counter)


class Client:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        secret: str | None = None,
        stats: Stats | None = None,
        retry_for_s: float = RETRY_FOR_S,
    ) -> None:
        self.session, self.base_url, self.secret = session, base_url, secret
        self.stats = stats if stats is not None else Stats()
        self.retry_for_s = retry_for_s

    def as_key(self, secret: str) -> Client:
        return Client(
            self.session,
            self.base_url,
            secret=secret,
            stats=self.stats,
            retry_for_s=self.retry_for_s,
        )

    async def get(self, path: str) -> dict[str, Any]:
        return await self.request("GET", path)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.request("POST", path, body or {}, idempotency_key=str(uuid.uuid4()))

    async def put(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PUT", path, body)

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """The answer's body once it is a success; retries what a careful client retries."""
        deadline = time.monotonic() + self.retry_for_s
        while True:
            self.stats.requests += 1
            try:
                answer = await self.once(method, path, body, idempotency_key=idempotency_key)
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                reason, delay_s = f"connection ({type(error).__name__})", RETRY_DELAY_S
            else:
                if answer.status < 300:
                    return answer.body
                if not answer.retryable:
                    raise ApiFailed(f"{method} {path} answered {answer.status}: {answer.body}")
                reason, delay_s = f"{answer.status} {answer.category}", answer.retry_delay_s
            self.stats.retries[reason] += 1
            if time.monotonic() > deadline:
                raise ApiFailed(f"{method} {path}: still {reason} after {self.retry_for_s} s")
            await asyncio.sleep(delay_s)

    async def once(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Answer:
        """One attempt, whatever it answers; connection errors are raised."""
        headers = {}
        if self.secret:
            token = base64.b64encode(f"{self.secret}:".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with self.session.request(
            method, self.base_url + path, json=body, headers=headers, timeout=timeout
        ) as response:
            text = await response.text()
            answer = Answer(response.status, dict(response.headers), {})
        if text:
            try:
                answer.body = json.loads(text)
            except ValueError as error:
                raise ApiFailed(
                    f"{method} {path} answered {answer.status}: {text[:200]}"
                ) from error
        return answer


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def category(self) -> str:
        return _category(self.body)

    @property
    def retryable(self) -> bool:
        """Whether a client retries it with the same Idempotency-Key: the request did not
        run, or its outcome is kept for the retry to collect."""
        return self.status in RETRYABLE_STATUSES or (self.status == 409 and self.category == IN_USE)

    @property
    def retry_delay_s(self) -> float:
        retry_after = self.headers.get("Retry-After")
        return min(float(retry_after), RETRY_DELAY_S_MAX) if retry_after else RETRY_DELAY_S


def _category(payload: dict[str, Any]) -> str:
    errors = payload.get("errors") or [{}]
    return str(errors[0].get("category_code", ""))


def _first(payload: dict[str, Any], plural: str) -> dict[str, Any]:
    item: dict[str, Any] = payload[plural][0]
    return item


@dataclass
class Marketplace:
    id: str
    client: Client
    card_id: str
    callback_id: str


async def open_marketplace(client: Client, receiver: Receiver, callback_url: str) -> Marketplace:
    """A new API key, its marketplace, a callback to `receiver`, and a buyer's card."""
    secret = _first(await client.request("POST", "/api_keys", {}), "api_keys")["secret"]
    keyed = client.as_key(secret)
    marketplace = _first(await keyed.request("POST", "/marketplaces", {}), "marketplaces")
    callback = _first(await keyed.post("/callbacks", {"url": callback_url}), "callbacks")
    receiver.secret = callback["secret"]
    card = _first(
        await keyed.post(
            "/cards",
            {"number": VISA, "expiration_month": 12, "expiration_year": 2030, "cvv": "123"},
        ),
        "cards",
    )
    return Marketplace(marketplace["id"], keyed, card["id"], callback["id"])


@dataclass(frozen=True)
class FundedOrder:
    merchant_id: str
    bank_account_id: str
    order_id: str
    debit_id: str


async def fund_order(
    marketplace: Marketplace, name: str, amount_cents: int, account_number: str = ACCOUNT_SUCCEEDS
) -> FundedOrder:
    """A merchant with a bank account, an order, and a card debit of `amount_cents` into it."""
    client = marketplace.client
    merchant = _first(await client.post("/customers", {"name": name}), "customers")
    bank = _first(
        await client.post(
            "/bank_accounts",
            {
                "name": name,
                "routing_number": ROUTING,
                "account_number": account_number,
                "account_type": "checking",
            },
        ),
        "bank_accounts",
    )
    await client.put(f"/bank_accounts/{bank['id']}", {"links": {"customer": merchant["id"]}})
    order = _first(await client.post(f"/customers/{merchant['id']}/orders", {}), "orders")
    debit = _first(
        await client.post(
            f"/cards/{marketplace.card_id}/debits", {"amount": amount_cents, "order": order["id"]}
        ),
        "debits",
    )
    return FundedOrder(merchant["id"], bank["id"], order["id"], debit["id"])


@dataclass
class Traffic:
    """Runs units of activity against one marketplace and records what the API confirmed."""

    marketplace: Marketplace
    # Every failing_every-th unit pays to an account the rail returns (R03): failures too.
    failing_every: int = 10
    # transfer id → kind, for every transfer whose creation the API confirmed.
    created: dict[str, str] = field(default_factory=dict)
    units_done: int = 0
    _progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def client(self) -> Client:
        return self.marketplace.client

    async def run(self, units: int, concurrency: int, first_index: int = 0) -> None:
        """Run `units` units, `concurrency` at a time; the first failure ends the run."""
        semaphore = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with semaphore:
                await self.unit(index)

        async with asyncio.TaskGroup() as group:
            for index in range(first_index, first_index + units):
                group.create_task(one(index))

    async def run_until(self, stop: asyncio.Event, concurrency: int) -> None:
        """Run units, `concurrency` at a time, until `stop` is set (units under way finish)."""
        indexes = itertools.count()

        async def lane() -> None:
            while not stop.is_set():
                await self.unit(next(indexes))

        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(lane())

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a transfer (`path` ends with its plural) and record it."""
        plural = path.rsplit("/", 1)[1]
        item = _first(await self.client.post(path, body), plural)
        self.created[item["id"]] = plural[:-1]
        return item

    async def unit(self, index: int) -> None:
        """One merchant's order, funded, paid out in every way, partly refunded and, once
        a credit has succeeded, partly reversed."""
        client = self.client
        failing = self.failing_every > 0 and index % self.failing_every == self.failing_every - 1
        account_number = ACCOUNT_FAILS if failing else ACCOUNT_SUCCEEDS
        funded = await fund_order(
            self.marketplace, f"Merchant {index}", DEBIT_CENTS, account_number
        )
        self.created[funded.debit_id] = "debit"
        credits = [
            await self.post(
                f"/bank_accounts/{funded.bank_account_id}/credits",
                {"amount": CREDIT_CENTS, "order": funded.order_id},
            )
            for _ in range(BANK_CREDITS)
        ]
        account = _first(await client.get(f"/customers/{funded.merchant_id}/accounts"), "accounts")
        await self.post(
            f"/accounts/{account['id']}/credits",
            {"amount": ACCOUNT_CREDIT_CENTS, "order": funded.order_id},
        )
        await self.post(
            f"/accounts/{account['id']}/settlements", {"funding_instrument": funded.bank_account_id}
        )
        await self.post(f"/debits/{funded.debit_id}/refunds", {"amount": REFUND_CENTS})
        if not failing and await self._succeeded(credits[0]["id"]):
            await self.post(f"/credits/{credits[0]['id']}/reversals")
        async with self._progress:
            self.units_done += 1
            self._progress.notify_all()

    async def reached(self, units: int) -> None:
        """Return once `units` units are done."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.units_done >= units)

    async def _succeeded(self, credit_id: str) -> bool:
        """Wait for the credit's outcome: True once it succeeded, False if it failed."""
        deadline = time.monotonic() + CREDIT_WAIT_S
        while time.monotonic() < deadline:
            credit = _first(await self.client.get(f"/credits/{credit_id}"), "credits")
            if credit["status"] != "pending":
                return bool(credit["status"] == "succeeded")
            await asyncio.sleep(CREDIT_POLL_S)
        raise ApiFailed(f"credit {credit_id} still pending after {CREDIT_WAIT_S} s")
