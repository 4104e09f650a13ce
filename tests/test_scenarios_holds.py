"""Balanced's card_holds.feature, one test per scenario (REFERENCE.md §E), each named after
it; responses are checked against Balanced's own schemas."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import steps
from tests.support.pipeline import Api


async def _created_hold(api: Api) -> dict[str, Any]:
    """ "I have created a hold": 100 on a tokenized card, by the link `cards.card_holds`."""
    created = await api.post("/cards", steps.CARD)
    path = steps.link(created.body, "cards.card_holds")
    return steps.item(await api.post(path, {"amount": 100}), "card_holds", 201)


async def test_creating_a_hold(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    body = {"amount": 1234, "description": "something for the dashboard"}
    body["meta"] = {"something": "random"}
    response = await marketplace.api.post(f"/cards/{card['id']}/card_holds", body)
    hold = steps.item(response, "card_holds", 201)
    assert (hold["amount"], hold["status"], hold["description"], hold["meta"]) == (
        1234,
        "succeeded",
        "something for the dashboard",
        {"something": "random"},
    )
    assert hold["links"] == {"card": card["id"], "debit": None, "order": None}
    assert hold["voided_at"] is None


async def test_capturing_a_hold(marketplace: Marketplace) -> None:
    hold = await _created_hold(marketplace.api)
    response = await marketplace.api.post(f"/card_holds/{hold['id']}/debits")
    debit = steps.item(response, "debits", 201)
    assert (debit["amount"], debit["status"]) == (100, "succeeded")
    assert debit["links"]["card_hold"] == hold["id"]
    captured = steps.item(await marketplace.api.get(hold["href"]), "card_holds")
    assert captured["links"]["debit"] == debit["id"]


async def test_voiding_a_hold(marketplace: Marketplace) -> None:
    hold = await _created_hold(marketplace.api)
    response = await marketplace.api.delete(hold["href"])
    assert steps.item(response, "card_holds")["voided_at"] is not None


async def test_voided_holds_arent_visible_from_the_index(marketplace: Marketplace) -> None:
    api = marketplace.api
    kept = await _created_hold(api)
    voided = await _created_hold(api)
    steps.item(await api.delete(voided["href"]), "card_holds")
    steps.item(await api.get(f"/cards/{voided['links']['card']}"), "cards")
    listed = await api.get("/card_holds")
    steps.item(listed, "card_holds")
    assert [h["id"] for h in listed.body["card_holds"]] == [kept["id"]]


async def test_updating_a_hold_description(marketplace: Marketplace) -> None:
    hold = await _created_hold(marketplace.api)
    body = {"description": "the new description of a hold"}
    response = await marketplace.api.put(f"/card_holds/{hold['id']}", body)
    assert steps.item(response, "card_holds")["description"] == "the new description of a hold"


async def test_updating_a_hold_meta(marketplace: Marketplace) -> None:
    hold = await _created_hold(marketplace.api)
    body = {"meta": {"something": "random"}}
    response = await marketplace.api.put(f"/card_holds/{hold['id']}", body)
    assert steps.item(response, "card_holds")["meta"] == {"something": "random"}
