"""Responses validate against Balanced's own response schemas (tests/fixtures/balanced),
with the content type and envelope conventions its clients depend on."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import Marketplace
from tests.support import flows, schemas
from tests.support.pipeline import Pipeline
from tests.support.receiver import Receiver


def _valid(response: Any, collection: str, status: int = 200) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    schemas.validate(collection, response.body)
    return response.body


async def test_every_spine_resource_matches_balanced_schemas(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 4000)
    _valid(await api.get(f"/marketplaces/{marketplace.id}"), "marketplaces")
    _valid(await api.get("/marketplaces"), "marketplaces")
    _valid(await api.get(f"/customers/{funded.merchant_id}"), "customers")
    _valid(await api.get(f"/bank_accounts/{funded.bank_account_id}"), "bank_accounts")
    _valid(await api.get(f"/orders/{funded.order_id}"), "orders")
    _valid(await api.get(f"/debits/{funded.debit_id}"), "debits")
    _valid(await api.get(f"/orders/{funded.order_id}/debits"), "debits")
    credit = await api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 100, "order": funded.order_id},
    )
    _valid(credit, "credits", 201)
    _valid(await api.get(f"/orders/{funded.order_id}/credits"), "credits")
    card = await api.post(
        "/cards",
        {"number": "5105105105105100", "expiration_month": "12", "expiration_year": "2030"},
    )
    _valid(card, "cards", 201)
    _valid(await api.get(f"/cards/{card.body['cards'][0]['id']}"), "cards")
    _valid(await api.post("/api_keys"), "api_keys", 201)


async def test_events_and_callbacks_match_balanced_schemas(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    receiver = Receiver()
    created = await flows.subscribe(pipeline, api, receiver)
    # The signing secret is our addition (Standard Webhooks), shown once at creation;
    # Balanced's callback schema forbids extra properties, so it is set aside to compare.
    assert created["secret"].startswith("whsec_")
    listed = _valid(await api.get("/callbacks"), "callbacks")
    assert "secret" not in listed["callbacks"][0]
    _valid(await api.get(f"/callbacks/{created['id']}"), "callbacks")
    funded = await flows.funded_order(api, 4000)
    events = _valid(await api.get("/events"), "events")
    assert {e["type"] for e in events["events"]} >= {"debit.created", "debit.succeeded"}
    event = events["events"][0]
    _valid(await api.get(f"/events/{event['id']}"), "events")
    delivered = await receiver.wait_for("debit.succeeded", funded.debit_id)
    schemas.validate("events", _without_sequence(delivered.event))


def _without_sequence(event: dict[str, Any]) -> dict[str, Any]:
    body = {"events": [copy.deepcopy(event)], "links": {}}
    assert event["sequence"] >= 1
    return body


async def test_failed_credit_answers_with_the_transaction_and_its_errors(
    marketplace: Marketplace,
) -> None:
    funded = await flows.funded_order(marketplace.api, 100)
    response = await marketplace.api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 5000, "order": funded.order_id},
    )
    assert response.status == 409
    schemas.validate("errors", {"errors": response.body["errors"]})
    schemas.validate("credits", {k: v for k, v in response.body.items() if k != "errors"})
    assert response.body["credits"][0]["failure_reason_code"] == "insufficient-funds"


async def test_enveloped_request_bodies_are_accepted(marketplace: Marketplace) -> None:
    response = await marketplace.api.post("/customers", {"customers": [{"name": "Enveloped"}]})
    assert response.status == 201
    assert response.body["customers"][0]["name"] == "Enveloped"


async def test_transactions_inherit_the_order_description(marketplace: Marketplace) -> None:
    funded = await flows.funded_order(marketplace.api, 300)
    debit = (await marketplace.api.get(f"/debits/{funded.debit_id}")).body["debits"][0]
    assert debit["description"] == "Order #1"
    assert debit["appears_on_statement_as"].startswith("BAL*")


async def test_lists_carry_pagination_meta(marketplace: Marketplace) -> None:
    funded = await flows.funded_order(marketplace.api, 300)
    for _ in range(3):
        await marketplace.api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 1, "order": funded.order_id},
        )
    page = (await marketplace.api.get(f"/orders/{funded.order_id}/credits?limit=2&offset=0")).body
    assert len(page["credits"]) == 2
    meta = page["meta"]
    assert (meta["total"], meta["limit"], meta["offset"]) == (3, 2, 0)
    assert meta["next"] == f"/orders/{funded.order_id}/credits?limit=2&offset=2"
    assert meta["previous"] is None


async def test_customers_bank_accounts_and_cards_are_listed_at_the_root_and_per_customer(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    merchant_id, bank_account_id = await flows.merchant_with_bank_account(api)
    customers = _valid(await api.get("/customers"), "customers")
    assert merchant_id in {c["id"] for c in customers["customers"]}
    bank_accounts = _valid(await api.get("/bank_accounts"), "bank_accounts")
    assert bank_account_id in {b["id"] for b in bank_accounts["bank_accounts"]}
    own = _valid(await api.get(f"/customers/{merchant_id}/bank_accounts"), "bank_accounts")
    assert [b["id"] for b in own["bank_accounts"]] == [bank_account_id]
    await api.post("/cards", {"number": flows.VISA, "expiration_month": 1, "expiration_year": 2031})
    assert (await api.get("/cards")).body["meta"]["total"] >= 1
