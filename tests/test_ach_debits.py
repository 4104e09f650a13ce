"""ACH debits from verified bank accounts: Balanced's scenarios about them (debits.feature
"Debit a verified bank account" and "Debits to unverified bank accounts fail",
bank_accounts.feature "Debit a bank account"; one test each), then when their money
counts in an order's escrow and what a return days later does to an escrow already paid
out (the marketplace fixture audits the ledger after every test)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import ach, flows, schemas
from tests.support.pipeline import Api, Pipeline

AMOUNT = 2000


async def _order(api: Api) -> flows.FundedOrder:
    """A merchant with a bank account and an empty order (nothing debited into it)."""
    merchant_id, bank_account_id = await flows.merchant_with_bank_account(api)
    order = await flows.created(
        await api.post(f"/customers/{merchant_id}/orders", {"description": "Order #1"}), "orders"
    )
    return flows.FundedOrder(order["id"], merchant_id, bank_account_id, debit_id="")


async def _ach_debit(api: Api, bank_account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return await flows.created(
        await api.post(f"/bank_accounts/{bank_account_id}/debits", body), "debits"
    )


async def _shortfall(api: Api, marketplace_id: str) -> int:
    response = await api.get(f"/marketplaces/{marketplace_id}/shortfall")
    assert response.status == 200, response.body
    amount: int = response.body["shortfalls"][0]["amount"]
    return amount


async def _returnable(api: Api, marketplace_id: str) -> int:
    """The risk shown before it is lost: ACH debit money banks may still return."""
    response = await api.get(f"/marketplaces/{marketplace_id}/shortfall")
    cents: int = response.body["shortfalls"][0]["ach_debits_returnable"]
    return cents


async def test_debit_a_verified_bank_account(pipeline: Pipeline, marketplace: Marketplace) -> None:
    """Balanced asserts `succeeded` in the response; ballast answers `pending` (an ACH
    debit settles days later, REFERENCE.md §A) and `succeeded` once the rail settles it."""
    api = marketplace.api
    bank_account = await ach.verified_bank_account(api)
    response = await api.post(
        f"/bank_accounts/{bank_account['id']}/debits", {"debits": [{"amount": AMOUNT}]}
    )
    assert response.status == 201, response.body
    schemas.validate("debits", response.body)
    debit = response.body["debits"][0]
    assert debit["status"] == "pending"
    assert debit["links"]["source"] == bank_account["id"]
    assert debit["appears_on_statement_as"] == "example.com"
    await flows.simulate(pipeline, debit["id"], "settle")
    settled = await flows.status(api, debit["href"], "succeeded")
    schemas.validate("debits", (await api.get(debit["href"])).body)
    listed = (await api.get(f"/bank_accounts/{bank_account['id']}/debits")).body["debits"]
    assert [d["id"] for d in listed] == [settled["id"]]


async def test_debit_a_bank_account(marketplace: Marketplace) -> None:
    """bank_accounts.feature's scenario: the same, enveloped body, any amount."""
    api = marketplace.api
    bank_account = await ach.verified_bank_account(api)
    response = await api.post(
        f"/bank_accounts/{bank_account['id']}/debits", {"debits": [{"amount": 1234}]}
    )
    assert response.status == 201, response.body
    schemas.validate("debits", response.body)
    assert response.body["debits"][0]["amount"] == 1234


async def test_debits_to_unverified_bank_accounts_fail(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    bank_account = await flows.created(
        await api.post(
            "/bank_accounts",
            {
                "name": "Karl Malone",
                "account_number": "9900000004",
                "routing_number": "021000021",
                "account_type": "checking",
            },
        ),
        "bank_accounts",
    )
    response = await api.post(
        f"/bank_accounts/{bank_account['id']}/debits", {"debits": [{"amount": AMOUNT}]}
    )
    assert response.status == 409, response.body
    schemas.validate("debits", response.body)
    failed = response.body["debits"][0]
    assert failed["status"] == "failed"
    assert failed["failure_reason_code"] == "funding-source-not-debitable"
    assert response.body["errors"][0]["category_code"] == "funding-source-not-debitable"
    # Kept, hidden from lists unless asked for, and never sent to the rail.
    row = await pipeline.pool.fetchrow("SELECT * FROM transactions WHERE id = $1", failed["id"])
    assert (row["rail_entry_kind"], row["submitted_at"]) == (None, None)
    hidden = (await api.get(f"/bank_accounts/{bank_account['id']}/debits")).body
    assert hidden["debits"] == []
    shown = (await api.get(f"/bank_accounts/{bank_account['id']}/debits?status=failed")).body
    assert [d["id"] for d in shown["debits"]] == [failed["id"]]


async def _debited_order(
    pipeline: Pipeline, api: Api, amount_cents: int, account_number: str
) -> tuple[flows.FundedOrder, dict[str, Any]]:
    """An order and an ACH debit into it from a buyer's verified bank account (on the
    routing number whose account `account_number` the rail treats as Balanced documents)."""
    funded = await _order(api)
    buyer_account = await ach.verified_bank_account(api, flows.ROUTING, account_number)
    debit = await _ach_debit(
        api, buyer_account["id"], {"amount": amount_cents, "order": funded.order_id}
    )
    assert debit["links"]["order"] == funded.order_id
    assert debit["description"] == "Order #1"
    return funded, debit


async def _order_figures(api: Api, order_id: str) -> tuple[int, int]:
    order = (await api.get(f"/orders/{order_id}")).body["orders"][0]
    return order["amount"], order["amount_escrowed"]


async def _event_types(api: Api, debit_id: str) -> list[str]:
    return [e["type"] for e in (await api.get(f"/debits/{debit_id}/events")).body["events"]]


async def test_an_ach_debit_counts_in_its_order_escrow_only_once_the_rail_settles_it(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded, debit = await _debited_order(pipeline, api, 5000, flows.ACCOUNT_STAYS_PENDING)
    assert await _order_figures(api, funded.order_id) == (0, 0)
    early = await api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 1, "order": funded.order_id},
    )
    assert (early.status, early.body["errors"][0]["category_code"]) == (409, "insufficient-funds")
    await flows.simulate(pipeline, debit["id"], "settle")
    await flows.status(api, debit["href"], "succeeded")
    assert await _order_figures(api, funded.order_id) == (5000, 5000)
    assert await _event_types(api, debit["id"]) == ["debit.created", "debit.succeeded"]


async def test_an_ach_debit_the_bank_returns_before_settling_moves_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """The rail's rule for Balanced's failing test account: a debit comes back R01."""
    api = marketplace.api
    funded, debit = await _debited_order(pipeline, api, 5000, flows.ACCOUNT_FAILS)
    failed = await flows.status(api, f"{debit['href']}?status=failed", "failed")
    assert failed["failure_reason_code"] == "R01"
    assert await _order_figures(api, funded.order_id) == (0, 0)
    assert await _event_types(api, debit["id"]) == ["debit.created", "debit.failed"]


async def test_a_late_return_after_the_order_paid_out_leaves_the_marketplace_short(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """An ACH debit settles, the order pays 3000 of its 5000 out to the merchant, then the
    bank returns the debit (R01): the escrow gives back the 2000 it holds, the payout
    stands, and the 3000 it cannot give back is the marketplace's shortfall."""
    api = marketplace.api
    funded, debit = await _debited_order(pipeline, api, 5000, flows.ACCOUNT_STAYS_PENDING)
    assert await _returnable(api, marketplace.id) == 0  # Pending: nothing arrived yet.
    await flows.simulate(pipeline, debit["id"], "settle")
    await flows.status(api, debit["href"], "succeeded")
    assert await _returnable(api, marketplace.id) == 5000
    payout = await flows.credit_order(api, funded, 3000)
    await flows.credit_status(api, payout["id"], "succeeded")
    assert await _shortfall(api, marketplace.id) == 0
    refund = await api.post(f"/debits/{debit['id']}/refunds", {})
    assert (refund.status, refund.body["errors"][0]["category_code"]) == (
        409,
        "funding-source-not-refundable",
    )
    await flows.simulate(pipeline, debit["id"], "return", code="R01")
    returned = await flows.status(api, f"{debit['href']}?status=failed", "failed")
    assert returned["failure_reason_code"] == "R01"
    assert await _order_figures(api, funded.order_id) == (0, 0)
    assert await _shortfall(api, marketplace.id) == 3000
    assert await _returnable(api, marketplace.id) == 0
    paid = (await api.get(f"/credits/{payout['id']}")).body["credits"][0]
    assert paid["status"] == "succeeded"
    assert await _event_types(api, debit["id"]) == [
        "debit.created",
        "debit.succeeded",
        "debit.failed",
    ]


async def test_a_late_return_of_money_still_in_escrow_takes_it_back_whole(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded, debit = await _debited_order(pipeline, api, 5000, flows.ACCOUNT_STAYS_PENDING)
    await flows.simulate(pipeline, debit["id"], "settle")
    await flows.status(api, debit["href"], "succeeded")
    await flows.simulate(pipeline, debit["id"], "return", code="R10")
    returned = await flows.status(api, f"{debit['href']}?status=failed", "failed")
    assert returned["failure_reason_code"] == "R10"
    assert await _order_figures(api, funded.order_id) == (0, 0)
    assert await _shortfall(api, marketplace.id) == 0
    again = await api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 1, "order": funded.order_id},
    )
    assert again.status == 409, again.body


async def test_an_ach_debit_without_an_order_fills_the_marketplace_escrow(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    before = (await api.get(f"/marketplaces/{marketplace.id}")).body["marketplaces"][0]
    buyer_account = await ach.verified_bank_account(api, flows.ROUTING, flows.ACCOUNT_SUCCEEDS)
    debit = await _ach_debit(api, buyer_account["id"], {"amount": 700})
    await flows.status(api, debit["href"], "succeeded")
    after = (await api.get(f"/marketplaces/{marketplace.id}")).body["marketplaces"][0]
    assert after["in_escrow"] == before["in_escrow"] + 700


async def test_an_unknown_bank_account_is_not_debited(marketplace: Marketplace) -> None:
    response = await marketplace.api.post(
        "/bank_accounts/BA00000000000000000000000000000000/debits", {"amount": 100}
    )
    assert (response.status, response.body["errors"][0]["category_code"]) == (404, "not-found")


async def test_an_unstored_bank_account_is_neither_verified_nor_debited(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    verified = await ach.verified_bank_account(api)
    unverified = await ach.tokenized_bank_account(api)
    for bank_account in (verified, unverified):
        deleted = await api.delete(bank_account["href"])
        assert deleted.status == 204, deleted.body
    shown = (await api.get(verified["href"])).body["bank_accounts"][0]
    assert shown["can_debit"] is False
    debit = await api.post(f"{verified['href']}/debits", {"amount": 100})
    assert (debit.status, debit.body["errors"][0]["category_code"]) == (
        409,
        "bank-account-not-valid",
    )
    verification = await api.post(f"{unverified['href']}/verifications")
    assert (verification.status, verification.body["errors"][0]["category_code"]) == (
        409,
        "bank-account-not-valid",
    )
    assert (await api.get("/debits?status[in]=pending,succeeded,failed")).body["debits"] == []
