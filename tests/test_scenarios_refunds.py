"""Balanced's refunds.feature, one test per scenario (REFERENCE.md §E), each named after
it; responses are checked against Balanced's own schemas."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import flows, steps
from tests.support.pipeline import Api, Response


async def _debited_card(api: Api) -> dict[str, Any]:
    """ "I have debited a card": 2000 from a tokenized card."""
    card = await steps.tokenized_card(api)
    response = await api.post(f"/cards/{card['id']}/debits", {"amount": 2000})
    return steps.item(response, "debits", 201)


async def _refunded_debit(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """ "I have created a refund for a debit"."""
    debit = await _debited_card(api)
    refund = steps.item(await api.post(f"/debits/{debit['id']}/refunds", {}), "refunds", 201)
    return debit, refund


async def _debited_customer_card(api: Api) -> Response:
    """ "I have tokenized a customer card" and "I have debited that card" (by the link
    `cards.debits`)."""
    card = {"number": flows.VISA, "expiration_month": "12", "expiration_year": 2016}
    created = await api.post("/cards", card)
    debited = await api.post(steps.link(created.body, "cards.debits"), {"amount": 2000})
    steps.item(debited, "debits", 201)
    return debited


async def test_creating_a_full_refund(marketplace: Marketplace) -> None:
    api = marketplace.api
    debit = await _debited_card(api)
    refund = steps.item(await api.post(f"/debits/{debit['id']}/refunds"), "refunds", 201)
    assert (refund["amount"], refund["status"]) == (2000, "succeeded")
    assert refund["links"]["debit"] == debit["id"]


async def test_creating_a_partial_refund(marketplace: Marketplace) -> None:
    debit = await _debited_card(marketplace.api)
    fields = {"amount": 100, "description": "The customer was unhappy"}
    body = {"refunds": [fields | {"meta": {"reason": "not shipped"}}]}
    response = await marketplace.api.post(f"/debits/{debit['id']}/refunds", body)
    refund = steps.item(response, "refunds", 201)
    assert (refund["amount"], refund["description"], refund["meta"]) == (
        100,
        "The customer was unhappy",
        {"reason": "not shipped"},
    )


async def test_listing_refunds_for_a_debit(marketplace: Marketplace) -> None:
    debit, refund = await _refunded_debit(marketplace.api)
    listed = await marketplace.api.get(f"/debits/{debit['id']}/refunds")
    steps.item(listed, "refunds")
    found = [(r["id"], r["links"]["debit"]) for r in listed.body["refunds"]]
    assert found == [(refund["id"], debit["id"])]


async def test_retrieving_a_refund(marketplace: Marketplace) -> None:
    _, refund = await _refunded_debit(marketplace.api)
    found = steps.item(await marketplace.api.get(f"/refunds/{refund['id']}"), "refunds")
    assert found == refund | {"updated_at": found["updated_at"]}


async def test_update_a_refund_description(marketplace: Marketplace) -> None:
    _, refund = await _refunded_debit(marketplace.api)
    body = {"refunds": [{"description": "The customer cancel the order"}]}
    response = await marketplace.api.put(f"/refunds/{refund['id']}", body)
    assert steps.item(response, "refunds")["description"] == "The customer cancel the order"


async def test_update_a_refund_meta(marketplace: Marketplace) -> None:
    _, refund = await _refunded_debit(marketplace.api)
    body = {"meta": {"something": "random"}}
    response = await marketplace.api.put(f"/refunds/{refund['id']}", body)
    assert steps.item(response, "refunds")["meta"] == {"something": "random"}


async def test_create_a_refund(marketplace: Marketplace) -> None:
    debited = await _debited_customer_card(marketplace.api)
    response = await marketplace.api.post(steps.link(debited.body, "debits.refunds"))
    assert steps.item(response, "refunds", 201)["amount"] == 2000


async def test_create_a_failed_refund(marketplace: Marketplace) -> None:
    debited = await _debited_customer_card(marketplace.api)
    body = {"refunds": [{"amount": 200000000}]}
    response = await marketplace.api.post(steps.link(debited.body, "debits.refunds"), body)
    steps.error(response, 400, "invalid-amount")
    listed = await marketplace.api.get(f"/debits/{debited.body['debits'][0]['id']}/refunds")
    assert listed.body["meta"]["total"] == 0


async def test_refund_after_changed_source(marketplace: Marketplace) -> None:
    api = marketplace.api
    customer = await steps.created_customer(api)
    debit = steps.item(
        await api.post(f"/customers/{customer.id}/debits", {"amount": 2000}), "debits", 201
    )
    other = await steps.tokenized_card(api)
    patch = [{"op": "replace", "path": "/customers/0/links/source", "value": other["id"]}]
    changed = steps.item(await api.request("PATCH", customer.href, patch), "customers")
    assert changed["links"]["source"] == other["id"]
    steps.item(await api.post(f"/debits/{debit['id']}/refunds", {}), "refunds", 201)
    found = steps.item(await api.get(debit["href"]), "debits")
    assert found["links"]["source"] == customer.card_id
