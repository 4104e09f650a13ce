"""Balanced's accounts.feature, one test per scenario (REFERENCE.md §E), each named after
it; responses are checked against Balanced's own schemas."""

from __future__ import annotations

from tests.conftest import Marketplace
from tests.support import steps


async def test_list_accounts(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    listed = await marketplace.api.get("/accounts")
    steps.item(listed, "accounts")
    assert customer.payable_account_id in {a["id"] for a in listed.body["accounts"]}


async def test_retrieving_accounts_for_a_customer(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    listed = await marketplace.api.get(f"/customers/{customer.id}/accounts")
    account = steps.item(listed, "accounts")
    assert [a["links"]["customer"] for a in listed.body["accounts"]] == [customer.id]
    assert (account["id"], account["type"], account["balance"]) == (
        customer.payable_account_id,
        "payable",
        0,
    )


async def test_credit_a_customer_payable_account(marketplace: Marketplace) -> None:
    api = marketplace.api
    ordered = await steps.order_with_debit(api)
    account_id = ordered.merchant.payable_account_id
    body = {"credits": [{"amount": 234, "order": f"/orders/{ordered.order_id}"}]}
    credit = steps.item(await api.post(f"/accounts/{account_id}/credits", body), "credits", 201)
    assert (credit["status"], credit["links"]["destination"]) == ("succeeded", account_id)
    assert credit["links"]["order"] == ordered.order_id
    account = steps.item(await api.get(f"/accounts/{account_id}"), "accounts")
    assert account["balance"] == 234
    order = steps.item(await api.get(f"/orders/{ordered.order_id}"), "orders")
    assert order["amount_escrowed"] == 12345 - 234


async def test_retrieving_credits_for_an_account(marketplace: Marketplace) -> None:
    funded = await steps.funded_account(marketplace.api)
    account_id = funded.merchant.payable_account_id
    listed = await marketplace.api.get(f"/accounts/{account_id}/credits")
    steps.item(listed, "credits")
    credits = listed.body["credits"]
    assert {c["id"] for c in credits} == set(funded.credit_ids)
    assert {c["links"]["destination"] for c in credits} == {account_id}


async def test_retrieving_debits_for_an_account(marketplace: Marketplace) -> None:
    funded = await steps.funded_account(marketplace.api)
    listed = await marketplace.api.get(f"/accounts/{funded.merchant.payable_account_id}/debits")
    assert listed.status == 200, listed.body
    # Currently there are no debitable accounts.
    assert (listed.body["debits"], listed.body["meta"]["total"]) == ([], 0)


async def test_retrieving_refunds_for_an_account(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await steps.funded_account(api, orders=1)
    (credit_id,) = funded.credit_ids
    steps.item(await api.post(f"/credits/{credit_id}/reversals"), "reversals", 201)
    (debit_id,) = funded.debit_ids
    steps.item(await api.post(f"/debits/{debit_id}/refunds"), "refunds", 201)
    listed = await api.get(f"/accounts/{funded.merchant.payable_account_id}/refunds")
    assert listed.status == 200, listed.body
    # No debitable accounts, thus no refunds.
    assert (listed.body["refunds"], listed.body["meta"]["total"]) == ([], 0)


async def test_retrieving_reversals_for_an_account(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await steps.funded_account(api, orders=1)
    (credit_id,) = funded.credit_ids
    response = await api.post(f"/credits/{credit_id}/reversals")
    reversal = steps.item(response, "reversals", 201)
    listed = await api.get(f"/accounts/{funded.merchant.payable_account_id}/reversals")
    steps.item(listed, "reversals")
    assert [(r["id"], r["links"]["credit"]) for r in listed.body["reversals"]] == [
        (reversal["id"], credit_id)
    ]


async def test_retrieving_settlements_for_an_account(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await steps.funded_account(api)
    account_id = funded.merchant.payable_account_id
    response = await steps.settle(
        api,
        account_id,
        funded.bank_account_id,
        appears_on_statement_as="Settlement Oct",
        description="Settlement for payouts from October",
    )
    settlement = steps.item(response, "settlements", 201)
    listed = await api.get(f"/accounts/{account_id}/settlements")
    steps.item(listed, "settlements")
    assert [(s["id"], s["links"]["source"]) for s in listed.body["settlements"]] == [
        (settlement["id"], account_id)
    ]
