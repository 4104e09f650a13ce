"""Balanced's disputes.feature, one test per scenario, and what a dispute does: the test
card 6500000000000002 is disputed after its debit, the dispute is found wherever Balanced
links it, and its amount is charged back out of the order's escrow (the marketplace
fixture audits the ledger after every test)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import ach, flows, schemas
from tests.support.pipeline import Api

AMOUNT = 99999


async def _a_dispute(api: Api, order_id: str | None = None) -> tuple[dict[str, Any], str]:
    """Balanced's step "I have a dispute": the disputed debit, and its dispute's id."""
    debit = await ach.disputed_debit(api, AMOUNT, order_id)
    fetched = (await api.get(debit["href"])).body["debits"][0]
    assert fetched["status"] == "succeeded"
    dispute_id: str = fetched["links"]["dispute"]
    assert dispute_id is not None and dispute_id.startswith("DT")
    return fetched, dispute_id


async def test_retrieve_a_dispute(marketplace: Marketplace) -> None:
    api = marketplace.api
    debit, dispute_id = await _a_dispute(api)
    response = await api.get(f"/disputes/{dispute_id}")
    assert response.status == 200, response.body
    schemas.validate("disputes", response.body)
    dispute = response.body["disputes"][0]
    assert dispute["links"] == {"transaction": debit["id"]}
    assert (dispute["amount"], dispute["status"], dispute["reason"]) == (AMOUNT, "pending", "fraud")
    assert dispute["respond_by"] > dispute["initiated_at"]


async def test_list_disputes(marketplace: Marketplace) -> None:
    api = marketplace.api
    _, dispute_id = await _a_dispute(api)
    response = await api.get("/disputes")
    assert response.status == 200, response.body
    schemas.validate("disputes", response.body)
    assert [d["id"] for d in response.body["disputes"]] == [dispute_id]
    assert response.body["meta"]["total"] == 1


async def test_a_dispute_is_found_from_its_debit_card_and_id(marketplace: Marketplace) -> None:
    api = marketplace.api
    debit, dispute_id = await _a_dispute(api)
    of_debit = await api.get(f"/debits/{debit['id']}/dispute")
    assert of_debit.status == 200, of_debit.body
    assert of_debit.body["disputes"][0]["id"] == dispute_id
    of_card = await api.get(f"/cards/{debit['links']['source']}/disputes")
    assert [d["id"] for d in of_card.body["disputes"]] == [dispute_id]
    not_a_card = await api.get(f"/cards/{debit['id']}/disputes")
    assert not_a_card.status == 404, not_a_card.body
    found = await api.get(f"/resources/{dispute_id}")
    assert found.status == 200, found.body
    assert found.body["disputes"][0]["id"] == dispute_id
    undisputed = await ach.tokenized_bank_account(api)  # Any other resource: no dispute.
    assert undisputed["links"]["bank_account_verification"] is None
    events = (await api.get(f"/disputes/{dispute_id}/events")).body["events"]
    assert [e["type"] for e in events] == ["dispute.created"]
    schemas.validate("disputes", events[0]["entity"])


async def test_a_customers_disputes_are_those_of_its_cards_debits(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    customer = await flows.created(await api.post("/customers", {"name": "Buyer"}), "customers")
    card = await flows.created(
        await api.post(
            "/cards",
            {"number": ach.DISPUTE_CARD, "expiration_month": 12, "expiration_year": 2030},
        ),
        "cards",
    )
    attached = await api.put(card["href"], {"links": {"customer": customer["id"]}})
    assert attached.status == 200, attached.body
    # Debited as the customer's default source: a debit of the customer, of that card.
    debit = await flows.created(
        await api.post(f"/customers/{customer['id']}/debits", {"amount": 700}), "debits"
    )
    assert debit["links"]["dispute"] is not None
    listed = (await api.get(f"/customers/{customer['id']}/disputes")).body
    schemas.validate("disputes", listed)
    assert [d["links"]["transaction"] for d in listed["disputes"]] == [debit["id"]]
    other = await flows.created(await api.post("/customers", {"name": "Other"}), "customers")
    assert (await api.get(f"/customers/{other['id']}/disputes")).body["disputes"] == []


async def test_an_undisputed_debit_has_no_dispute(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1000)
    debit = (await api.get(f"/debits/{funded.debit_id}")).body["debits"][0]
    assert debit["links"]["dispute"] is None
    response = await api.get(f"/debits/{funded.debit_id}/dispute")
    assert (response.status, response.body["errors"][0]["category_code"]) == (404, "not-found")
    assert (await api.get("/disputes")).body["disputes"] == []


async def test_a_dispute_charges_its_amount_back_out_of_the_order_escrow(
    marketplace: Marketplace,
) -> None:
    """The order keeps the other buyer's money; the disputed debit's is charged back at
    once, and the debit can no longer be refunded (the cardholder has the money)."""
    api = marketplace.api
    funded = await flows.funded_order(api, 5000)
    debit, _ = await _a_dispute(api, funded.order_id)
    order = (await api.get(f"/orders/{funded.order_id}")).body["orders"][0]
    assert (order["amount"], order["amount_escrowed"]) == (5000 + AMOUNT, 5000)
    refund = await api.post(f"/debits/{debit['id']}/refunds", {})
    assert (refund.status, refund.body["errors"][0]["category_code"]) == (409, "debit-disputed")
    types = [e["type"] for e in (await api.get(f"/debits/{debit['id']}/events")).body["events"]]
    assert types == ["debit.created", "debit.succeeded", "debit.updated"]


async def test_a_captured_hold_of_the_dispute_card_is_disputed_too(
    marketplace: Marketplace,
) -> None:
    """A capture is a debit of the card: disputed as soon as it succeeds, and charged back
    out of the order it went into, leaving the order's other money."""
    api = marketplace.api
    funded = await flows.funded_order(api, 1)
    card = await flows.created(
        await api.post(
            "/cards",
            {"number": ach.DISPUTE_CARD, "expiration_month": 12, "expiration_year": 2030},
        ),
        "cards",
    )
    hold = await flows.created(
        await api.post(f"/cards/{card['id']}/card_holds", {"amount": 3000}), "card_holds"
    )
    captured = await flows.created(
        await api.post(f"/card_holds/{hold['id']}/debits", {"order": funded.order_id}), "debits"
    )
    assert captured["links"]["dispute"] is not None
    order = (await api.get(f"/orders/{funded.order_id}")).body["orders"][0]
    assert (order["amount"], order["amount_escrowed"]) == (3001, 1)
    shortfall = (await api.get(f"/marketplaces/{marketplace.id}/shortfall")).body
    assert shortfall["shortfalls"][0]["amount"] == 0
