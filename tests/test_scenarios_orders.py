"""Balanced's orders.feature, one test per scenario (REFERENCE.md §E), each named after it;
responses are checked against Balanced's own schemas. A credit reversed through the rail
gives its order's escrow back once the reversal succeeds (README, Balanced's scenarios)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import flows, steps
from tests.support.pipeline import Api, Response


async def _order(api: Api, merchant_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await api.post(f"/customers/{merchant_id}/orders", body or {})
    order = steps.item(response, "orders", 201)
    assert order["links"] == {"merchant": merchant_id}
    return order


async def _order_amounts(api: Api, order_id: str) -> tuple[int, int]:
    order = steps.item(await api.get(f"/orders/{order_id}"), "orders")
    return order["amount"], order["amount_escrowed"]


async def _debited_customer_card(api: Api, order_id: str, amount_cents: int) -> Response:
    """ "I have tokenized a customer card" and debited it into the order by the link
    `cards.debits`."""
    card = {"number": flows.VISA, "expiration_month": "12", "expiration_year": 2016}
    created = await api.post("/cards", card)
    path = steps.link(created.body, "cards.debits")
    body = {"debits": [{"order": order_id, "amount": amount_cents}]}
    debited = await api.post(path, body)
    assert steps.item(debited, "debits", 201)["links"]["order"] == order_id
    return debited


async def test_create_an_order(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    order = await _order(marketplace.api, customer.id)
    assert (order["amount"], order["amount_escrowed"], order["currency"]) == (0, 0, "USD")


async def test_basic_order_flow(marketplace: Marketplace) -> None:
    api = marketplace.api
    customer, bank_account_id = await steps.customer_with_bank_account(api)
    order = await _order(api, customer.id)
    found = await api.get(customer.href)
    body = {"debits": [{"amount": 10000, "order": order["id"]}]}
    debit = steps.item(
        await api.post(steps.link(found.body, "customers.debits"), body), "debits", 201
    )
    assert debit["links"]["order"] == order["id"]
    assert await _order_amounts(api, order["id"]) == (10000, 10000)
    found = await api.get(customer.href)
    body = {"credits": [{"amount": 10000, "order": order["id"]}]}
    path = steps.link(found.body, "customers.credits")
    credit = steps.item(await api.post(path, body), "credits", 201)
    assert credit["links"]["order"] == order["id"]
    assert credit["links"]["destination"] == bank_account_id
    assert await _order_amounts(api, order["id"]) == (10000, 0)


async def test_checking_escrow_of_order_after_creating_a_debit(marketplace: Marketplace) -> None:
    api = marketplace.api
    merchant = await steps.created_customer(api)
    order = await _order(api, merchant.id)
    await _debited_customer_card(api, order["id"], 1234)
    assert await _order_amounts(api, order["id"]) == (1234, 1234)


async def test_checking_orders_can_have_associated_holds(marketplace: Marketplace) -> None:
    api = marketplace.api
    buyer = await steps.created_customer(api)
    merchant = await steps.customer_without_instruments(api)
    order = await _order(api, merchant["id"])
    body = {"amount": 1234, "order": order["id"]}
    response = await api.post(f"/cards/{buyer.card_id}/card_holds", body)
    hold = steps.item(response, "card_holds", 201)
    assert hold["links"]["order"] == order["id"]
    # A hold does not change its order until it is captured.
    assert await _order_amounts(api, order["id"]) == (0, 0)
    debit = steps.item(await api.post(f"/card_holds/{hold['id']}/debits"), "debits", 201)
    assert debit["links"]["order"] == order["id"]
    assert await _order_amounts(api, order["id"]) == (1234, 1234)


async def test_checking_escrow_of_order_after_creating_a_credit(marketplace: Marketplace) -> None:
    api = marketplace.api
    ordered = await steps.order_with_debit(api)
    bank_account_id = await steps.associated_bank_account(api, ordered.merchant.id)
    body = {"credits": [{"order": ordered.order_id, "amount": 12345}]}
    steps.item(await api.post(f"/bank_accounts/{bank_account_id}/credits", body), "credits", 201)
    assert await _order_amounts(api, ordered.order_id) == (12345, 0)


async def test_orders_cannot_be_credited_more_than_escrow_balance(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    merchant = await steps.created_customer(api)
    order = await _order(api, merchant.id)
    bank_account_id = await steps.associated_bank_account(api, merchant.id)
    await _debited_customer_card(api, order["id"], 1234)
    assert await _order_amounts(api, order["id"]) == (1234, 1234)
    body = {"credits": [{"order": order["id"], "amount": 2000}]}
    response = await api.post(f"/bank_accounts/{bank_account_id}/credits", body)
    steps.error(response, 409, "insufficient-funds")
    assert await _order_amounts(api, order["id"]) == (1234, 1234)


async def test_create_a_refund(marketplace: Marketplace) -> None:
    api = marketplace.api
    merchant = await steps.created_customer(api)
    order = await _order(api, merchant.id)
    # Balanced's "I have debited that card" debits outside the order, which leaves nothing
    # to check: here the debit goes into the order and its refund takes it back out.
    created = await _debited_customer_card(api, order["id"], 2000)
    refund = steps.item(await api.post(steps.link(created.body, "debits.refunds")), "refunds", 201)
    assert (refund["amount"], refund["links"]["order"]) == (2000, order["id"])
    assert await _order_amounts(api, order["id"]) == (0, 0)


async def test_create_a_reversal(marketplace: Marketplace) -> None:
    api = marketplace.api
    ordered = await steps.order_with_debit(api)
    body = {"bank_accounts": [steps.BANK_ACCOUNT | {"name": "Michael Jordan"}]}
    created = await api.post(f"/customers/{ordered.merchant.id}/bank_accounts", body)
    steps.item(created, "bank_accounts", 201)
    body = {"credits": [{"order": ordered.order_id, "amount": 12345}]}
    path = steps.link(created.body, "bank_accounts.credits")
    credited = await api.post(path, body)
    credit = steps.item(credited, "credits", 201)
    assert await _order_amounts(api, ordered.order_id) == (12345, 0)
    await flows.credit_status(api, credit["id"], "succeeded")
    reversed_ = await api.post(steps.link(credited.body, "credits.reversals"))
    reversal = steps.item(reversed_, "reversals", 201)
    assert reversal["links"]["order"] == ordered.order_id
    await flows.status(api, f"/reversals/{reversal['id']}", "succeeded")
    assert await _order_amounts(api, ordered.order_id) == (12345, 12345)


async def test_create_a_failed_refund_when_insufficient_funds_are_in_order_escrow(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    merchant = await steps.created_customer(api)
    order = await _order(api, merchant.id)
    card = await api.post("/cards", steps.CARD)
    body = {"debits": [{"order": order["id"], "amount": 1234}]}
    debited = await api.post(steps.link(card.body, "cards.debits"), body)
    steps.item(debited, "debits", 201)
    bank_account = await api.post("/bank_accounts", steps.BANK_ACCOUNT)
    bank_account_id = bank_account.body["bank_accounts"][0]["id"]
    attached = await api.put(
        f"/bank_accounts/{bank_account_id}", {"links": {"customer": merchant.id}}
    )
    body = {"credits": [{"order": order["id"], "amount": 1234}]}
    credited = await api.post(steps.link(attached.body, "bank_accounts.credits"), body)
    steps.item(credited, "credits", 201)
    refunded = await api.post(steps.link(debited.body, "debits.refunds"))
    steps.error(refunded, 409, "insufficient-funds")
    assert await _order_amounts(api, order["id"]) == (1234, 0)


async def test_transactions_should_inherit_the_description_of_the_order_by_default(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    merchant = await steps.created_customer(api)
    await steps.associated_bank_account(api, merchant.id)
    order = await _order(api, merchant.id, {"description": "Beats by Dr. Dre"})
    assert order["description"] == "Beats by Dr. Dre"
    buyer = await steps.created_customer(api)
    found = await api.get(buyer.href)
    body = {"debits": [{"amount": 10000, "order": order["id"]}]}
    debited = await api.post(steps.link(found.body, "customers.debits"), body)
    assert steps.item(debited, "debits", 201)["description"] == "Beats by Dr. Dre"
    found = await api.get(f"/customers/{merchant.id}")
    body = {"credits": [{"amount": 10000, "order": order["id"]}]}
    credited = await api.post(steps.link(found.body, "customers.credits"), body)
    assert steps.item(credited, "credits", 201)["description"] == "Beats by Dr. Dre"


async def test_update_an_order_description(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    order = await _order(marketplace.api, customer.id)
    response = await marketplace.api.put(f"/orders/{order['id']}", {"description": "Bob's service"})
    assert steps.item(response, "orders")["description"] == "Bob's service"
