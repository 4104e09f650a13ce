"""Balanced's cards.feature, one test per scenario (REFERENCE.md §E), each named after it
(the families of AVS, CVV and brand scenarios are parametrized, one case per scenario);
responses are checked against Balanced's own schemas. "Tokenize a card without a secret
key" is a deliberate difference (README, Balanced's scenarios)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Marketplace
from tests.support import steps
from tests.support.flows import VISA


async def _meta_added(marketplace: Marketplace, value: str) -> dict[str, Any]:
    """A card given `meta.asdf` by a JSON Patch `add`, fetched again."""
    card = await steps.tokenized_card(marketplace.api)
    patch = [{"op": "add", "path": "/cards/0/meta/asdf", "value": value}]
    steps.item(await marketplace.api.request("PATCH", card["href"], patch), "cards")
    return steps.item(await marketplace.api.get(card["href"]), "cards")


async def test_retrieve_a_card(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    assert steps.item(await marketplace.api.get(f"/cards/{card['id']}"), "cards") == card


async def test_list_cards(marketplace: Marketplace) -> None:
    cards = [await steps.tokenized_card(marketplace.api) for _ in range(2)]
    listed = await marketplace.api.get("/cards")
    steps.item(listed, "cards")
    assert [c["id"] for c in listed.body["cards"]] == [c["id"] for c in cards]


async def test_remove_a_card(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    response = await marketplace.api.delete(f"/cards/{card['id']}")
    assert (response.status, response.body) == (204, {})


async def test_update_a_card(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    body = {"cards": [{"meta": {"something": "random"}}]}
    updated = steps.item(await marketplace.api.put(f"/cards/{card['id']}", body), "cards")
    assert updated["meta"] == {"something": "random"}


async def test_debit_a_card(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    response = await marketplace.api.post(f"/cards/{card['id']}/debits", {"amount": 2000})
    assert steps.item(response, "debits", 201)["status"] == "succeeded"


async def test_add_a_card_to_a_customer(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    customer = await steps.created_customer(marketplace.api)
    patch = [{"op": "replace", "path": "/cards/0/links/customer", "value": customer.id}]
    steps.item(await marketplace.api.request("PATCH", f"/cards/{card['id']}", patch), "cards")
    found = steps.item(await marketplace.api.get(f"/cards/{card['id']}"), "cards")
    assert found["links"]["customer"] == customer.id


AVS = {
    "AVS Postal code matches": ({"postal_code": "94301"}, "avs_postal_match", "yes"),
    "AVS Postal code does not match": ({"postal_code": "90210"}, "avs_postal_match", "no"),
    "AVS Postal code is unsupported": (
        {"postal_code": "90211"},
        "avs_postal_match",
        "unsupported",
    ),
    "AVS Postal code is unused": ({}, "avs_postal_match", None),
    "AVS street matches": (
        {"line1": "965 Mission St", "postal_code": "94103"},
        "avs_street_match",
        "yes",
    ),
    "AVS street does not match": (
        {"line1": "21 Jump St", "postal_code": "90210"},
        "avs_street_match",
        "no",
    ),
    "AVS street match is null": ({}, "avs_street_match", None),
}


@pytest.mark.parametrize(("address", "field", "answer"), AVS.values(), ids=AVS.keys())
async def test_avs(
    marketplace: Marketplace, address: dict[str, str], field: str, answer: str | None
) -> None:
    body = {"number": VISA, "expiration_month": 12, "expiration_year": 2016}
    response = await marketplace.api.post("/cards", {"cards": [body | {"address": address}]})
    assert steps.item(response, "cards", 201)[field] == answer


BRANDS = {
    "Detect a Visa card brand": ("4111 1111 1111 1111", "Visa"),
    "Detect a Mastercard card brand": ("5105 1051 0510 5100", "MasterCard"),
    "Detect an American Express card brand": ("3782 822463 10005", "American Express"),
    "Detect a Discover card brand": ("6011 1111 1111 1117", "Discover"),
}


@pytest.mark.parametrize(("number", "brand"), BRANDS.values(), ids=BRANDS.keys())
async def test_detect_a_card_brand(marketplace: Marketplace, number: str, brand: str) -> None:
    body = {"number": number, "expiration_month": 12, "expiration_year": 2016}
    response = await marketplace.api.post("/cards", {"cards": [body]})
    assert steps.item(response, "cards", 201)["brand"] == brand


async def test_tokenizing_a_card(marketplace: Marketplace) -> None:
    api = marketplace.api
    numbers = {"number": "4111 1111 1111 1111", "expiration_month": "12"}
    card = steps.item(await api.post("/cards", numbers | {"expiration_year": "2016"}), "cards", 201)
    assert (card["expiration_month"], card["expiration_year"]) == (12, 2016)
    body = {"name": "Frida Kahlo", "number": VISA, "expiration_month": 12, "expiration_year": 2016}
    assert steps.item(await api.post("/cards", body), "cards", 201)["name"] == "Frida Kahlo"
    address = {
        "line1": "7 Bis Rue de l'Abbé de l'Épée",
        "line2": "Apt 4",
        "city": "Versailles",
        "state": None,
        "postal_code": "78000",
        "country_code": "FR",
    }
    response = await api.post("/cards", {"cards": [body | {"address": address}]})
    assert steps.item(response, "cards", 201)["address"] == address


async def test_tokenization_fails_luhn_test(marketplace: Marketplace) -> None:
    body = {"number": "4111111111111112", "expiration_month": 12, "expiration_year": 2016}
    steps.error(await marketplace.api.post("/cards", body), 409, "card-not-validated")


async def test_unstore_a_card(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    assert (await marketplace.api.delete(f"/cards/{card['id']}")).status == 204
    # Unstored means never charged again, with Balanced's error for a deactivated card.
    refused = await marketplace.api.post(f"/cards/{card['id']}/debits", {"amount": 100})
    steps.error(refused, 409, "card-not-valid")
    refused = await marketplace.api.post(f"/cards/{card['id']}/card_holds", {"amount": 100})
    steps.error(refused, 409, "card-not-valid")


async def test_unstored_cards_arent_visible_from_the_index(marketplace: Marketplace) -> None:
    kept, unstored = [await steps.tokenized_card(marketplace.api) for _ in range(2)]
    await marketplace.api.delete(unstored["href"])
    listed = await marketplace.api.get("/cards")
    assert [c["id"] for c in listed.body["cards"]] == [kept["id"]]


async def test_unstored_cards_are_still_get_able(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    await marketplace.api.delete(card["href"])
    found = steps.item(await marketplace.api.get(card["href"]), "cards")
    assert found["id"] == card["id"]
    assert (found["can_debit"], found["can_credit"]) == (False, False)


CVV = {
    "CVV matches": ("4111111111111111", "123", "yes"),
    "CVV does not match": ("5112000200000002", "200", "no"),
    "CVV is unsupported": ("4457000300000007 ", "901", "unsupported"),
    "CVV is unused": ("4111111111111111", None, None),
}


@pytest.mark.parametrize(("number", "cvv", "answer"), CVV.values(), ids=CVV.keys())
async def test_cvv(
    marketplace: Marketplace, number: str, cvv: str | None, answer: str | None
) -> None:
    body = {"number": number, "expiration_month": 12, "expiration_year": 2016}
    if cvv is not None:
        body["cvv"] = cvv
    response = await marketplace.api.post("/cards", {"cards": [body]})
    assert steps.item(response, "cards", 201)["cvv_match"] == answer


async def test_adding_card_metadata(marketplace: Marketplace) -> None:
    card = await _meta_added(marketplace, "the value to be added")
    assert card["meta"] == {"asdf": "the value to be added"}


async def test_updating_card_metadata(marketplace: Marketplace) -> None:
    card = await _meta_added(marketplace, "the value to be added")
    patch = [{"op": "replace", "path": "/cards/0/meta/asdf", "value": "new value"}]
    response = await marketplace.api.request("PATCH", card["href"], patch)
    assert steps.item(response, "cards")["meta"] == {"asdf": "new value"}


async def test_safely_updating_the_metadata(marketplace: Marketplace) -> None:
    card = await _meta_added(marketplace, "the value to be tested")
    patch = [
        {"op": "test", "path": "/cards/0/meta/asdf", "value": "the value to be tested"},
        {"op": "replace", "path": "/cards/0/meta/asdf", "value": "after checking the value"},
    ]
    response = await marketplace.api.request("PATCH", card["href"], patch)
    assert steps.item(response, "cards")["meta"] == {"asdf": "after checking the value"}


async def test_failing_to_safely_update_the_metadata(marketplace: Marketplace) -> None:
    card = await _meta_added(marketplace, "the value to be tested")
    patch = [
        {"op": "test", "path": "/cards/0/meta/asdf", "value": "not the right value"},
        {"op": "replace", "path": "/cards/0/meta/asdf", "value": "after checking the value"},
    ]
    response = await marketplace.api.request("PATCH", card["href"], patch)
    steps.error(response, 409, "patch-test-failed")
    # All or nothing: the replace after the failed test changed nothing.
    found = steps.item(await marketplace.api.get(card["href"]), "cards")
    assert found["meta"] == {"asdf": "the value to be tested"}


async def test_moving_metadata(marketplace: Marketplace) -> None:
    card = await _meta_added(marketplace, "the value to be moved")
    patch = [{"op": "move", "from": "/cards/0/meta/asdf", "path": "/cards/0/meta/zxcv"}]
    response = await marketplace.api.request("PATCH", card["href"], patch)
    assert steps.item(response, "cards")["meta"] == {"zxcv": "the value to be moved"}


async def test_removing_metadata(marketplace: Marketplace) -> None:
    card = await _meta_added(marketplace, "the value to be moved")
    patch = [{"op": "remove", "path": "/cards/0/meta/asdf"}]
    response = await marketplace.api.request("PATCH", card["href"], patch)
    assert steps.item(response, "cards")["meta"] == {}


async def test_associating_a_card_to_a_marketplace_with_get(marketplace: Marketplace) -> None:
    body = {"expiration_month": 12, "cvv": 123, "number": 5105105105105100, "expiration_year": 2020}
    response = await marketplace.api.post("/cards", body)
    card = steps.item(response, "cards", 201)
    steps.item(await marketplace.api.get(card["href"]), "cards")
    listed = await marketplace.api.get("/cards")
    assert card["id"] in {c["id"] for c in listed.body["cards"]}
