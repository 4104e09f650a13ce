"""The `Given` steps of Balanced's own cucumber scenarios (balanced-api
features/step_definitions), done as Balanced's steps do them, for the scenario tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support import schemas
from tests.support.flows import ACCOUNT_SUCCEEDS, ROUTING, VISA
from tests.support.pipeline import Api, Response

CARD = {
    "number": "4111 1111 1111 1111",
    "expiration_month": 12,
    "expiration_year": 2016,
    "cvv": "123",
    "address": {"line1": "965 Mission St", "postal_code": "94103", "city": "Balo Alto"},
}
BANK_ACCOUNT = {
    "name": "Henry Ford",
    "routing_number": ROUTING,
    "account_number": ACCOUNT_SUCCEEDS,
    "account_type": "checking",
}


def item(response: Response, plural: str, status: int = 200) -> dict[str, Any]:
    """The one resource of a response, after checking its status and Balanced's schema."""
    assert response.status == status, response.body
    schemas.validate(plural, response.body)
    found: dict[str, Any] = response.body[plural][0]
    return found


# Codes Balanced's own scenarios assert that its error schema's enum lacks (REFERENCE.md §F).
CODES_OUTSIDE_THE_SCHEMA = frozenset({"cannot-reverse-credits-to-cards"})


def error(response: Response, status: int, category_code: str) -> dict[str, Any]:
    """The one error of a response, after checking its status, its category and (unless
    the schema forgot the code) Balanced's error schema."""
    assert response.status == status, response.body
    if category_code not in CODES_OUTSIDE_THE_SCHEMA:
        schemas.validate("errors", {"errors": response.body["errors"]})
    (found,) = response.body["errors"]
    assert found["category_code"] == category_code, found
    return dict(found)


async def tokenized_card(api: Api, **fields: Any) -> dict[str, Any]:
    return item(await api.post("/cards", CARD | fields), "cards", 201)


async def tokenized_bank_account(api: Api, **fields: Any) -> dict[str, Any]:
    return item(await api.post("/bank_accounts", BANK_ACCOUNT | fields), "bank_accounts", 201)


@dataclass(frozen=True)
class Customer:
    id: str
    href: str
    card_id: str
    payable_account_id: str


async def created_customer(api: Api) -> Customer:
    """ "I have created a customer": an underwritten customer whose card, associated by
    JSON Patch, is named its default source by JSON Patch."""
    body = {"name": "Henry Ford", "dob_year": "1963", "dob_month": "07"}
    customer = item(
        await api.post("/customers", body | {"address": {"postal_code": "48120"}}),
        "customers",
        201,
    )
    accounts = (await api.get(f"{customer['href']}/accounts")).body["accounts"]
    card = await tokenized_card(api)
    patch = [{"op": "replace", "path": "/cards/0/links/customer", "value": customer["id"]}]
    item(await api.request("PATCH", card["href"], patch), "cards")
    patch = [{"op": "replace", "path": "/customers/0/links/source", "value": card["id"]}]
    item(await api.request("PATCH", customer["href"], patch), "customers")
    return Customer(customer["id"], customer["href"], card["id"], accounts[0]["id"])


async def customer_without_instruments(api: Api) -> dict[str, Any]:
    """ "I have created a customer without a card and bank account"."""
    return item(await api.post("/customers", {}), "customers", 201)


async def customer_with_bank_account(api: Api) -> tuple[Customer, str]:
    """ "I have a customer with a tokenized bank account": associated by PUT, and named
    nowhere as a default."""
    customer = await created_customer(api)
    bank_account = await tokenized_bank_account(api)
    attached = await api.put(bank_account["href"], {"links": {"customer": customer.id}})
    item(attached, "bank_accounts")
    return customer, bank_account["id"]


async def funded_marketplace(api: Api, amount_cents: int = 500_000) -> None:
    """ "I have sufficient funds in my marketplace": a card debit into its escrow."""
    card = await tokenized_card(api, number=VISA)
    item(await api.post(f"/cards/{card['id']}/debits", {"amount": amount_cents}), "debits", 201)


def link(body: dict[str, Any], rel: str) -> str:
    """The envelope's link template `rel` (`cards.debits`) expanded for its one item, as
    Balanced's clients do: `{cards.id}` is the item's id, `{cards.customer}` its link."""
    plural = rel.split(".", 1)[0]
    resource: dict[str, Any] = body[plural][0]
    template: str = body["links"][rel]
    for key in ("id", "self"):
        template = template.replace(f"{{{plural}.{key}}}", resource["id"])
    for key, value in resource["links"].items():
        if f"{{{plural}.{key}}}" in template:
            assert value is not None, f"{rel} of {resource['id']} is null"
            template = template.replace(f"{{{plural}.{key}}}", value)
    assert "{" not in template, template
    return template
