"""Balanced's debits.feature and credits.feature and the push-to-card scenarios that
credit at the root (`POST /credits`): one test per scenario (REFERENCE.md §E), each named
after it, responses checked against Balanced's own schemas. "Debit a verified bank
account" and "Debits to unverified bank accounts fail" are in tests/test_ach_debits.py."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import steps
from tests.support.pipeline import Api

DEBIT_CARD = {"name": "Johannes Bach", "number": "4342561111111118", "expiration_month": "12"}


async def _debited_card(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """ "I have debited a card"."""
    card = await steps.tokenized_card(api)
    debit = steps.item(
        await api.post(f"/cards/{card['id']}/debits", {"amount": 2000}), "debits", 201
    )
    return card, debit


async def test_debiting_a_card(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    body = {"debits": [{"amount": 20000}]}
    response = await marketplace.api.post(f"/cards/{card['id']}/debits", body)
    assert steps.item(response, "debits", 201)["amount"] == 20000


async def test_retrieving_debits_for_a_card(marketplace: Marketplace) -> None:
    card, _ = await _debited_card(marketplace.api)
    listed = await marketplace.api.get(f"/cards/{card['id']}/debits")
    steps.item(listed, "debits")
    assert {d["links"]["source"] for d in listed.body["debits"]} == {card["id"]}


async def test_debiting_a_customer(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    fields = {"amount": 2000, "meta": {"product_id": "123123123"}}
    body = {"debits": [fields | {"description": "Bob is giving me some $$$"}]}
    response = await marketplace.api.post(f"/customers/{customer.id}/debits", body)
    debit = steps.item(response, "debits", 201)
    assert (debit["amount"], debit["meta"], debit["description"]) == (
        2000,
        {"product_id": "123123123"},
        "Bob is giving me some $$$",
    )
    assert debit["links"]["customer"] == customer.id
    assert debit["links"]["source"] == customer.card_id  # The default source.


async def test_list_debits(marketplace: Marketplace) -> None:
    for _ in range(2):
        await _debited_card(marketplace.api)
    listed = await marketplace.api.get("/debits")
    steps.item(listed, "debits")
    assert listed.body["meta"]["total"] == 2


async def test_update_a_debit_description(marketplace: Marketplace) -> None:
    _, debit = await _debited_card(marketplace.api)
    response = await marketplace.api.put(debit["href"], {"description": "something useful"})
    assert steps.item(response, "debits")["description"] == "something useful"


async def test_update_a_debit_meta(marketplace: Marketplace) -> None:
    _, debit = await _debited_card(marketplace.api)
    body = {"debits": [{"meta": {"order.status": "shipped"}}]}
    response = await marketplace.api.put(debit["href"], body)
    assert steps.item(response, "debits")["meta"] == {"order.status": "shipped"}


async def test_refund_a_debit(marketplace: Marketplace) -> None:
    _, debit = await _debited_card(marketplace.api)
    response = await marketplace.api.post(f"{debit['href']}/refunds")
    assert steps.item(response, "refunds", 201)["amount"] == 2000


async def test_debit_a_card_by_its_link(marketplace: Marketplace) -> None:
    """debits.feature's first "Debit a card", by the link `cards.debits`."""
    created = await marketplace.api.post("/cards", steps.CARD)
    path = steps.link(created.body, "cards.debits")
    response = await marketplace.api.post(path, {"debits": [{"amount": 2000}]})
    steps.item(response, "debits", 201)


async def test_debit_a_card_at_the_root(marketplace: Marketplace) -> None:
    """debits.feature's second "Debit a card": `POST /debits` with the card's href."""
    card = await steps.tokenized_card(marketplace.api)
    response = await marketplace.api.post("/debits", {"amount": 2000, "source": card["href"]})
    assert steps.item(response, "debits", 201)["links"]["source"] == card["id"]


async def test_debit_a_customer_card(marketplace: Marketplace) -> None:
    body = {"number": "4111111111111111", "expiration_month": "12", "expiration_year": 2016}
    created = await marketplace.api.post("/cards", body)
    path = steps.link(created.body, "cards.debits")
    steps.item(await marketplace.api.post(path, {"debits": [{"amount": 2000}]}), "debits", 201)


async def test_debit_a_customer(marketplace: Marketplace) -> None:
    """debits.feature's second "Debit a customer", by the link `customers.debits`."""
    customer = await steps.created_customer(marketplace.api)
    found = await marketplace.api.get(customer.href)
    path = steps.link(found.body, "customers.debits")
    steps.item(await marketplace.api.post(path, {"debits": [{"amount": 1234}]}), "debits", 201)


async def test_failing_to_debit_a_customer(marketplace: Marketplace) -> None:
    customer = await steps.customer_without_instruments(marketplace.api)
    path = f"/customers/{customer['id']}/debits"
    response = await marketplace.api.post(path, {"debits": [{"amount": 8979}]})
    steps.error(response, 409, "no-funding-source")


async def test_debiting_a_card_directly(marketplace: Marketplace) -> None:
    source = {"number": "4111111111111111", "expiration_year": "2018", "expiration_month": 12}
    response = await marketplace.api.post(
        "/debits", {"debits": [{"amount": 1234, "source": source}]}
    )
    debit = steps.item(response, "debits", 201)
    card = steps.item(await marketplace.api.get(f"/cards/{debit['links']['source']}"), "cards")
    assert card["number"].endswith("1111")


async def test_debit_unassociated_card(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    response = await marketplace.api.post(
        f"/cards/{card['id']}/debits", {"debits": [{"amount": 5000}]}
    )
    assert steps.item(response, "debits", 201)["links"]["customer"] is None


async def test_list_credits(marketplace: Marketplace) -> None:
    await steps.funded_marketplace(marketplace.api)
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    for _ in range(3):
        await marketplace.api.post(f"{bank_account['href']}/credits", {"amount": 100})
    listed = await marketplace.api.get("/credits")
    steps.item(listed, "credits")
    assert listed.body["meta"]["total"] == 3


async def _bank_account_with_a_credit(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """ "I have a bank account with a credit"."""
    await steps.funded_marketplace(api)
    bank_account = await steps.tokenized_bank_account(api)
    response = await api.post(f"{bank_account['href']}/credits", {"amount": 1234})
    return bank_account, steps.item(response, "credits", 201)


async def test_retrieving_credits_for_a_bank_account(marketplace: Marketplace) -> None:
    bank_account, _ = await _bank_account_with_a_credit(marketplace.api)
    listed = await marketplace.api.get(f"/bank_accounts/{bank_account['id']}/credits")
    steps.item(listed, "credits")
    assert {c["links"]["destination"] for c in listed.body["credits"]} == {bank_account["id"]}


async def test_updating_a_credit_description(marketplace: Marketplace) -> None:
    _, credit = await _bank_account_with_a_credit(marketplace.api)
    body = {"description": "A new credit description"}
    response = await marketplace.api.put(f"/credits/{credit['id']}", body)
    assert steps.item(response, "credits")["description"] == "A new credit description"


async def test_updating_a_credit_meta(marketplace: Marketplace) -> None:
    _, credit = await _bank_account_with_a_credit(marketplace.api)
    body = {"meta": {"something": "random"}}
    response = await marketplace.api.put(f"/credits/{credit['id']}", body)
    assert steps.item(response, "credits")["meta"] == {"something": "random"}


async def test_crediting_a_deleted_card_leads_to_failure(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    await marketplace.api.delete(card["href"])
    steps.error(await marketplace.api.post(f"/cards/{card['id']}/credits"), 400, "request")


async def test_credit_a_customer(marketplace: Marketplace) -> None:
    await steps.funded_marketplace(marketplace.api)
    customer, bank_account_id = await steps.customer_with_bank_account(marketplace.api)
    body = {"credits": [{"amount": 500, "appears_on_statement_as": "Your lucky day"}]}
    response = await marketplace.api.post(f"/customers/{customer.id}/credits", body)
    credit = steps.item(response, "credits", 201)
    # The customer named no destination: its bank account is the default one.
    assert credit["links"]["destination"] == bank_account_id


async def test_crediting_without_a_funding_source_leads_to_failure(
    marketplace: Marketplace,
) -> None:
    customer = await steps.created_customer(marketplace.api)
    body = {"credits": [{"amount": 1234, "description": "Will this credit work? Nobody knows"}]}
    response = await marketplace.api.post(f"/customers/{customer.id}/credits", body)
    steps.error(response, 409, "no-funding-destination")


async def test_bulk_credit_to_a_customer_payable_account(marketplace: Marketplace) -> None:
    api = marketplace.api
    merchant = await steps.created_customer(api)
    orders = []
    for _ in range(2):
        order = steps.item(await api.post(f"/customers/{merchant.id}/orders", {}), "orders", 201)
        body = {"amount": 5000, "order": order["href"]}
        steps.item(await api.post(f"/customers/{merchant.id}/debits", body), "debits", 201)
        orders.append(order)
    path = f"/accounts/{merchant.payable_account_id}/credits"
    for balance, (order, group) in zip((1000, 2000), zip(orders, "AB", strict=True), strict=True):
        body = {"amount": 1000, "order": f"/orders/{order['id']}"}
        body["appears_on_statement_as"] = f"Payout group {group}"
        steps.item(await api.post(path, {"credits": [body]}), "credits", 201)
        account = await api.get(f"/accounts/{merchant.payable_account_id}")
        assert steps.item(account, "accounts")["balance"] == balance


async def _root_push(api: Api, card: dict[str, Any]) -> Any:
    await steps.funded_marketplace(api)
    return await api.post("/credits", {"credits": [{"destination": card, "amount": 1234}]})


async def test_push_money_to_a_card(marketplace: Marketplace) -> None:
    response = await _root_push(marketplace.api, DEBIT_CARD | {"expiration_year": 2016})
    assert steps.item(response, "credits", 201)["status"] == "succeeded"


async def test_push_money_to_a_special_debit_card_number_and_get_status_pending(
    marketplace: Marketplace,
) -> None:
    card = DEBIT_CARD | {"number": "4210101111111112", "expiration_year": 2016}
    response = await _root_push(marketplace.api, card)
    assert steps.item(response, "credits", 201)["status"] == "pending"


async def test_fail_to_push_money_to_a_credit_card(marketplace: Marketplace) -> None:
    card = DEBIT_CARD | {"number": "4111111111111111", "expiration_year": 2016}
    response = await _root_push(marketplace.api, card)
    steps.error(response, 409, "funding-destination-not-creditable")


async def test_push_money_to_a_card_requires_cardholder_name(marketplace: Marketplace) -> None:
    card = {"number": "4342561111111118", "expiration_month": "12", "expiration_year": 2016}
    response = await _root_push(marketplace.api, card)
    assert steps.error(response, 400, "request")["category_type"] == "request"
    # Nothing of the request stays: not even the card it would have tokenized.
    assert (await marketplace.api.get("/cards")).body["meta"]["total"] == 1


async def test_reverse_a_pending_credit_to_a_debit_card(marketplace: Marketplace) -> None:
    card = {"name": "George Handel", "number": "4210101111111112", "expiration_month": "05"}
    response = await _root_push(marketplace.api, card | {"expiration_year": "2017"})
    credit = steps.item(response, "credits", 201)
    assert credit["status"] == "pending"
    reversal = await marketplace.api.post(f"/credits/{credit['id']}/reversals")
    steps.error(reversal, 409, "cannot-reverse-credits-to-cards")
