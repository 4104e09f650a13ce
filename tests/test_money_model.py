"""A stateful property test: random sequences of debits, credits, refunds, reversals,
account credits, settlements and rail outcomes (success, return, late return), driven
through the real API and the real rail, against a model of every balance. After every
step the API's figures must equal the model's and the ledger must audit clean.

`BALLAST_MODEL_EXAMPLES` sets how many sequences run (default 200)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ledger import audit
from tests.support import flows
from tests.support.pipeline import Api, Pipeline, eventually

EXAMPLES = int(os.environ.get("BALLAST_MODEL_EXAMPLES", "200"))
STEPS_PER_EXAMPLE = 10
amounts = st.integers(min_value=1, max_value=3000)
T = TypeVar("T")


@dataclass
class Transfer:
    id: str
    amount: int
    status: str
    kind: str  # bank_credit, account_credit, reversal, settlement_out, settlement_in
    order_id: str | None = None
    parent: Transfer | None = None
    children: list[Transfer] = field(default_factory=list)

    def live_children_cents(self) -> int:
        return sum(c.amount for c in self.children if c.status != "failed")


class MoneyModel(RuleBasedStateMachine):
    pipeline: Pipeline
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    @initialize()
    def open_marketplace(self) -> None:
        self.run(self._open())

    async def _open(self) -> None:
        pipeline = self.pipeline
        secret = (await pipeline.api.post("/api_keys")).body["api_keys"][0]["secret"]
        self.api: Api = pipeline.api.as_key(secret)
        await self.api.post("/marketplaces", {})
        funded = await flows.funded_order(self.api, 5000, flows.ACCOUNT_STAYS_PENDING)
        self.order_id, self.bank_account_id = funded.order_id, funded.bank_account_id
        accounts = await self.api.get(f"/customers/{funded.merchant_id}/accounts")
        self.account_id = accounts.body["accounts"][0]["id"]
        self.card_id = (await self.api.get(f"/debits/{funded.debit_id}")).body["debits"][0][
            "links"
        ]["source"]
        self.escrow = 5000
        self.balance = 0
        self.debits: dict[str, int] = {funded.debit_id: 5000}  # id → what remains to refund
        self.transfers: list[Transfer] = []

    def _pending(self, *kinds: str) -> list[Transfer]:
        return [t for t in self.transfers if t.status == "pending" and t.kind in kinds]

    @rule(amount=amounts)
    def debit(self, amount: int) -> None:
        response = self.run(
            self.api.post(
                f"/cards/{self.card_id}/debits", {"amount": amount, "order": self.order_id}
            )
        )
        assert response.status == 201, response.body
        self.debits[response.body["debits"][0]["id"]] = amount
        self.escrow += amount

    @rule(amount=amounts, to_account=st.booleans())
    def credit(self, amount: int, to_account: bool) -> None:
        path = (
            f"/accounts/{self.account_id}/credits"
            if to_account
            else f"/bank_accounts/{self.bank_account_id}/credits"
        )
        response = self.run(self.api.post(path, {"amount": amount, "order": self.order_id}))
        if amount > self.escrow:
            assert response.status == 409, response.body
            return
        assert response.status == 201, response.body
        item = response.body["credits"][0]
        kind = "account_credit" if to_account else "bank_credit"
        self.transfers.append(Transfer(item["id"], amount, item["status"], kind, self.order_id))
        self.escrow -= amount
        self.balance += amount if to_account else 0

    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        debit_id = data.draw(st.sampled_from(sorted(self.debits)))
        amount = data.draw(amounts)
        response = self.run(self.api.post(f"/debits/{debit_id}/refunds", {"amount": amount}))
        remaining = self.debits[debit_id]
        if remaining == 0:
            assert response.status == 409, response.body
        elif amount > remaining:
            assert response.status == 400, response.body
        elif amount > self.escrow:
            assert response.status == 409, response.body
        else:
            assert response.status == 201, response.body
            self.debits[debit_id] -= amount
            self.escrow -= amount

    @precondition(
        lambda self: any(
            t.kind.endswith("credit") and t.status == "succeeded" for t in self.transfers
        )
    )
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        credits = [
            t for t in self.transfers if t.kind.endswith("credit") and t.status == "succeeded"
        ]
        credit = data.draw(st.sampled_from(credits))
        amount = data.draw(amounts)
        response = self.run(self.api.post(f"/credits/{credit.id}/reversals", {"amount": amount}))
        remaining = credit.amount - credit.live_children_cents()
        if remaining == 0:
            assert response.status == 409, response.body
            return
        if amount > remaining:
            assert response.status == 400, response.body
            return
        assert response.status == 201, response.body
        item = response.body["reversals"][0]
        reversal = Transfer(item["id"], amount, item["status"], "reversal", self.order_id, credit)
        credit.children.append(reversal)
        self.transfers.append(reversal)
        if credit.kind == "account_credit":
            assert item["status"] == "succeeded"
            self.balance -= amount
            self.escrow += amount

    @rule()
    def settle(self) -> None:
        response = self.run(
            self.api.post(
                f"/accounts/{self.account_id}/settlements",
                {"funding_instrument": self.bank_account_id},
            )
        )
        if self.balance == 0:
            assert response.status == 409, response.body
            return
        assert response.status == 201, response.body
        item = response.body["settlements"][0]
        kind = "settlement_out" if self.balance > 0 else "settlement_in"
        self.transfers.append(Transfer(item["id"], abs(self.balance), "pending", kind))
        self.balance = 0

    @precondition(
        lambda self: bool(
            self._pending("bank_credit", "reversal", "settlement_out", "settlement_in")
        )
    )
    @rule(data=st.data(), succeed=st.booleans())
    def rail_decides(self, data: st.DataObject, succeed: bool) -> None:
        transfer = data.draw(
            st.sampled_from(
                self._pending("bank_credit", "reversal", "settlement_out", "settlement_in")
            )
        )
        self.run(self._simulate(transfer, "settle" if succeed else "return"))
        transfer.status = "succeeded" if succeed else "failed"
        returns_to_escrow = "reversal" if succeed else "bank_credit"
        if transfer.kind == returns_to_escrow:
            self.escrow += transfer.amount
        elif transfer.kind == "settlement_out" and not succeed:
            self.balance += transfer.amount
        elif transfer.kind == "settlement_in" and not succeed:
            self.balance -= transfer.amount

    @precondition(
        lambda self: any(
            t.kind == "bank_credit" and t.status == "succeeded" and not t.children
            for t in self.transfers
        )
    )
    @rule(data=st.data())
    def late_return(self, data: st.DataObject) -> None:
        credit = data.draw(
            st.sampled_from(
                [
                    t
                    for t in self.transfers
                    if t.kind == "bank_credit" and t.status == "succeeded" and not t.children
                ]
            )
        )
        self.run(self._simulate(credit, "return"))
        credit.status = "failed"
        self.escrow += credit.amount

    async def _simulate(self, transfer: Transfer, action: str) -> None:
        pipeline = self.pipeline

        async def submitted() -> bool:
            async with pipeline.http.get(f"{pipeline.rail_url}/entries/{transfer.id}") as r:
                return r.status == 200

        await eventually(submitted)
        url = f"{pipeline.rail_url}/simulations/entries/{transfer.id}/{action}"
        body = {"code": "R01"} if action == "return" else {}
        async with pipeline.http.post(url, json=body, headers=pipeline.rail_control_headers):
            pass
        wanted = "succeeded" if action == "settle" else "failed"

        async def applied() -> bool:
            status = await pipeline.pool.fetchval(
                "SELECT status FROM transactions WHERE id = $1", transfer.id
            )
            return bool(status == wanted)

        await eventually(applied)

    @invariant()
    def figures_match_the_model(self) -> None:
        if not hasattr(self, "api"):
            return
        self.run(self._check())

    async def _check(self) -> None:
        order = (await self.api.get(f"/orders/{self.order_id}")).body["orders"][0]
        assert order["amount_escrowed"] == self.escrow
        account = (await self.api.get(f"/accounts/{self.account_id}")).body["accounts"][0]
        assert account["balance"] == self.balance
        assert await audit.violations(self.pipeline.pool) == []


async def test_money_always_matches_the_model(pipeline: Pipeline) -> None:
    MoneyModel.pipeline = pipeline
    MoneyModel.loop = asyncio.get_running_loop()
    test_case = MoneyModel.TestCase
    test_case.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS_PER_EXAMPLE,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    await asyncio.to_thread(test_case().runTest)
