"""Money is counted once: a credit, its reversals and the bank's returns of either move the
credit's amount between the order's escrow and the merchant at most once, in whichever
order the bank's answers arrive (the marketplace fixture audits the ledger afterwards)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import flows, schemas
from tests.support.pipeline import Api, Pipeline, eventually

AMOUNT = 10_000


async def _paid_credit(
    pipeline: Pipeline, api: Api, amount_cents: int = AMOUNT
) -> tuple[flows.FundedOrder, dict[str, Any]]:
    """An order funded with `amount_cents` and a credit of all of it that succeeded, to an
    account the rail keeps pending until a simulation drives it."""
    funded = await flows.funded_order(api, amount_cents, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.credit_order(api, funded, amount_cents)
    await flows.simulate(pipeline, credit["id"], "settle")
    await flows.credit_status(api, credit["id"], "succeeded")
    assert await flows.escrowed(api, funded.order_id) == 0
    return funded, credit


async def _reverse(api: Api, credit_id: str, amount_cents: int | None = None) -> dict[str, Any]:
    body = {} if amount_cents is None else {"amount": amount_cents}
    return await flows.created(await api.post(f"/credits/{credit_id}/reversals", body), "reversals")


async def _collected(
    pipeline: Pipeline, api: Api, credit_id: str, amount_cents: int | None = None
) -> dict[str, Any]:
    """A reversal of `credit_id` that the bank settled (its money is back in escrow)."""
    reversal = await _reverse(api, credit_id, amount_cents)
    await flows.simulate(pipeline, reversal["id"], "settle")
    return await flows.status(api, reversal["href"], "succeeded")


async def _payable(api: Api, customer_id: str) -> dict[str, Any]:
    account: dict[str, Any] = (await api.get(f"/customers/{customer_id}/accounts")).body[
        "accounts"
    ][0]
    return account


async def _compensations(api: Api, account_id: str) -> list[dict[str, Any]]:
    credits: list[dict[str, Any]] = (
        await api.get(f"/accounts/{account_id}/credits?status[in]=succeeded,failed")
    ).body["credits"]
    return credits


async def _failed(api: Api, path: str) -> dict[str, Any]:
    return await flows.status(api, f"{path}?status=failed", "failed")


async def test_late_return_with_a_pending_reversal_restores_the_escrow_once(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """The review's reproduction: the returned credit and its reversal used to both refill
    the escrow, and a second payout of twice the debit was accepted."""
    api = marketplace.api
    funded, credit = await _paid_credit(pipeline, api)
    reversal = await _reverse(api, credit["id"])
    await flows.simulate(pipeline, credit["id"], "return", code="R01")
    returned = await flows.credit_status(api, credit["id"], "failed")
    assert returned["failure_reason_code"] == "R01"
    failed = await _failed(api, reversal["href"])
    assert failed["failure_reason_code"] == "credit-returned"
    assert credit["id"] in failed["failure_reason"]
    assert await flows.escrowed(api, funded.order_id) == AMOUNT
    twice = await api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 2 * AMOUNT, "order": funded.order_id},
    )
    assert (twice.status, twice.body["errors"][0]["category_code"]) == (409, "insufficient-funds")
    schemas.validate("reversals", (await api.get(f"{reversal['href']}?status=failed")).body)


async def test_a_reversal_the_rail_collects_after_the_return_is_paid_to_the_merchant(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded, credit = await _paid_credit(pipeline, api)
    reversal = await _reverse(api, credit["id"], 4_000)
    await flows.simulate(pipeline, credit["id"], "return", code="R01")
    await _failed(api, reversal["href"])
    await flows.simulate(pipeline, reversal["id"], "settle")
    payable = await _payable(api, funded.merchant_id)

    async def compensated() -> list[dict[str, Any]]:
        return await _compensations(api, payable["id"])

    (compensation,) = await eventually(compensated)
    assert (compensation["amount"], compensation["status"]) == (4_000, "succeeded")
    assert reversal["id"] in compensation["description"]
    assert (await _payable(api, funded.merchant_id))["balance"] == 4_000
    assert await flows.escrowed(api, funded.order_id) == AMOUNT


async def test_late_return_after_a_partial_reversal_restores_only_the_rest(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """The reversal had already pulled 3,000 back into the escrow: the return adds the
    other 7,000, and the 3,000 the merchant paid twice is owed to the merchant."""
    api = marketplace.api
    funded, credit = await _paid_credit(pipeline, api)
    await _collected(pipeline, api, credit["id"], 3_000)
    assert await flows.escrowed(api, funded.order_id) == 3_000
    await flows.simulate(pipeline, credit["id"], "return", code="R01")
    await flows.credit_status(api, credit["id"], "failed")
    assert await flows.escrowed(api, funded.order_id) == AMOUNT
    payable = await _payable(api, funded.merchant_id)
    assert payable["balance"] == 3_000
    (compensation,) = await _compensations(api, payable["id"])
    assert compensation["amount"] == 3_000
    events = (await api.get(f"/credits/{compensation['id']}/events")).body["events"]
    assert {e["type"] for e in events} == {"credit.created", "credit.succeeded"}


async def test_several_reversals_then_a_return_count_each_cent_once(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded, credit = await _paid_credit(pipeline, api)
    await _collected(pipeline, api, credit["id"], 2_500)
    await _collected(pipeline, api, credit["id"], 1_500)
    pending = await _reverse(api, credit["id"], 1_000)
    await flows.simulate(pipeline, credit["id"], "return", code="R02")
    await flows.credit_status(api, credit["id"], "failed")
    await _failed(api, pending["href"])
    assert await flows.escrowed(api, funded.order_id) == AMOUNT
    assert (await _payable(api, funded.merchant_id))["balance"] == 4_000


async def test_reversal_returned_after_it_succeeded_takes_its_money_back_out_of_escrow(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded, credit = await _paid_credit(pipeline, api)
    reversal = await _collected(pipeline, api, credit["id"])
    assert await flows.escrowed(api, funded.order_id) == AMOUNT
    await flows.simulate(pipeline, reversal["id"], "return", code="R01")
    failed = await _failed(api, reversal["href"])
    assert failed["failure_reason_code"] == "R01"
    events = (await api.get(f"/reversals/{reversal['id']}/events")).body["events"]
    assert "reversal.failed" in {e["type"] for e in events}
    assert await flows.escrowed(api, funded.order_id) == 0
    # Nothing is reversed any more: the credit can be reversed again.
    again = await _reverse(api, credit["id"])
    assert again["amount"] == AMOUNT
    shortfall = (await api.get(f"/marketplaces/{marketplace.id}/shortfall")).body
    assert shortfall["shortfalls"][0]["amount"] == 0


async def test_reversal_returned_after_its_escrow_was_paid_out_again_is_a_shortfall(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded, credit = await _paid_credit(pipeline, api)
    reversal = await _collected(pipeline, api, credit["id"])
    await flows.credit_order(api, funded, 6_000)
    assert await flows.escrowed(api, funded.order_id) == 4_000
    await flows.simulate(pipeline, reversal["id"], "return", code="R01")
    await _failed(api, reversal["href"])
    assert await flows.escrowed(api, funded.order_id) == 0
    shortfall = await api.get(f"/marketplaces/{marketplace.id}/shortfall")
    assert shortfall.status == 200, shortfall.body
    assert shortfall.body["shortfalls"][0]["amount"] == 6_000


async def test_reversal_returned_after_its_credit_was_returned_undoes_the_compensation(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded, credit = await _paid_credit(pipeline, api)
    reversal = await _collected(pipeline, api, credit["id"])
    await flows.simulate(pipeline, credit["id"], "return", code="R01")
    await flows.credit_status(api, credit["id"], "failed")
    payable = await _payable(api, funded.merchant_id)
    assert payable["balance"] == AMOUNT
    await flows.simulate(pipeline, reversal["id"], "return", code="R01")
    await _failed(api, reversal["href"])

    async def undone() -> list[dict[str, Any]]:
        found = await _compensations(api, payable["id"])
        return [c for c in found if c["status"] == "failed"]

    (compensation,) = await eventually(undone)
    assert compensation["failure_reason_code"] == "reversal-returned"
    assert (await _payable(api, funded.merchant_id))["balance"] == 0
    assert await flows.escrowed(api, funded.order_id) == AMOUNT


async def test_another_marketplace_cannot_read_the_shortfall(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    key = await pipeline.api.post("/api_keys")
    other = pipeline.api.as_key(key.body["api_keys"][0]["secret"])
    await other.post("/marketplaces", {})
    response = await other.get(f"/marketplaces/{marketplace.id}/shortfall")
    assert response.status == 404
