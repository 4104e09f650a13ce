"""Push to card: credits to creditable debit cards (Balanced's push_to_card.feature)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import flows, schemas
from tests.support.pipeline import Api

CREDITABLE = "4342561111111118"
STAYS_PENDING = "4210101111111112"


async def _card(api: Api, number: str, name: str | None = "Grace Hopper") -> dict[str, Any]:
    body = {"number": number, "expiration_month": 1, "expiration_year": 2031, "name": name}
    return await flows.created(await api.post("/cards", body), "cards")


async def _push(api: Api, card_id: str, amount: int, order_id: str | None = None) -> Any:
    body: dict[str, Any] = {"amount": amount} | ({"order": order_id} if order_id else {})
    return await api.post(f"/cards/{card_id}/credits", body)


async def _fund_marketplace(api: Api, amount: int) -> None:
    card = await _card(api, flows.VISA)
    await flows.created(await api.post(f"/cards/{card['id']}/debits", {"amount": amount}), "debits")


async def test_money_is_pushed_to_a_debit_card_at_once(marketplace: Marketplace) -> None:
    api = marketplace.api
    await _fund_marketplace(api, 5000)
    card = await _card(api, CREDITABLE)
    assert (card["type"], card["can_credit"]) == ("debit", True)
    pushed = await _push(api, card["id"], 1500)
    assert pushed.status == 201, pushed.body
    schemas.validate("credits", pushed.body)
    assert pushed.body["credits"][0]["status"] == "succeeded"
    marketplace_row = (await api.get(f"/marketplaces/{marketplace.id}")).body["marketplaces"][0]
    assert marketplace_row["in_escrow"] == 3500


async def test_the_special_debit_card_leaves_the_credit_pending(marketplace: Marketplace) -> None:
    api = marketplace.api
    await _fund_marketplace(api, 500)
    pushed = await _push(api, (await _card(api, STAYS_PENDING))["id"], 500)
    assert (pushed.status, pushed.body["credits"][0]["status"]) == (201, "pending")


async def test_a_credit_card_cannot_be_credited(marketplace: Marketplace) -> None:
    refused = await _push(marketplace.api, (await _card(marketplace.api, flows.VISA))["id"], 100)
    assert (refused.status, refused.body["errors"][0]["category_code"]) == (
        409,
        "funding-destination-not-creditable",
    )


async def test_a_push_cannot_exceed_2500_dollars(marketplace: Marketplace) -> None:
    card = await _card(marketplace.api, CREDITABLE)
    refused = await _push(marketplace.api, card["id"], 250_001)
    assert (refused.status, refused.body["errors"][0]["category_code"]) == (
        409,
        "amount-exceeds-limit",
    )
    failed = refused.body["credits"][0]
    assert (failed["status"], failed["failure_reason_code"]) == ("failed", "amount-exceeds-limit")


async def test_a_push_needs_the_cardholders_name(marketplace: Marketplace) -> None:
    card = await _card(marketplace.api, CREDITABLE, name=None)
    refused = await _push(marketplace.api, card["id"], 100)
    assert (refused.status, refused.body["errors"][0]["category_code"]) == (400, "request")


async def test_credits_to_cards_cannot_be_reversed(marketplace: Marketplace) -> None:
    api = marketplace.api
    await _fund_marketplace(api, 1000)
    for number in (CREDITABLE, STAYS_PENDING):
        credit = (await _push(api, (await _card(api, number))["id"], 400)).body["credits"][0]
        refused = await api.post(f"/credits/{credit['id']}/reversals")
        assert (refused.status, refused.body["errors"][0]["category_code"]) == (
            409,
            "cannot-reverse-credits-to-cards",
        )
