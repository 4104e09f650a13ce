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


async def associated_bank_account(
    api: Api, customer_id: str, account_number: str = ACCOUNT_SUCCEEDS
) -> str:
    """ "I have tokenized a (failing) bank account associated with the merchant": tokenized,
    then attached by PUT."""
    bank_account = await tokenized_bank_account(api, account_number=account_number)
    attached = await api.put(bank_account["href"], {"links": {"customer": customer_id}})
    item(attached, "bank_accounts")
    return str(bank_account["id"])


@dataclass(frozen=True)
class OrderWithDebit:
    merchant: Customer
    order_id: str
    debit_id: str


async def order_with_debit(api: Api, amount_cents: int = 12345) -> OrderWithDebit:
    """ "I have an order with a debit": a customer's order, paid by a debit of the same
    customer's card."""
    merchant = await created_customer(api)
    order = item(await api.post(f"/customers/{merchant.id}/orders", {}), "orders", 201)
    body = {"amount": amount_cents, "order": order["id"]}
    debit = item(await api.post(f"/cards/{merchant.card_id}/debits", body), "debits", 201)
    return OrderWithDebit(merchant, order["id"], debit["id"])


@dataclass(frozen=True)
class FundedAccount:
    merchant: Customer
    bank_account_id: str
    order_ids: tuple[str, ...]
    debit_ids: tuple[str, ...]
    credit_ids: tuple[str, ...]


async def funded_account(api: Api, orders: int = 3) -> FundedAccount:
    """ "I have an Account with sufficient funds" (3 orders) or "I have an Account with a
    credit" (1): a merchant with a bank account and orders, each paid 10000 by a debit of
    its card and credited 10000 into its payable account."""
    merchant = await created_customer(api)
    bank_account_id = await associated_bank_account(api, merchant.id)
    order_ids, debit_ids, credit_ids = [], [], []
    for _ in range(orders):
        order = item(await api.post(f"/customers/{merchant.id}/orders", {}), "orders", 201)
        body = {"amount": 10000, "order": order["id"]}
        debit = item(await api.post(f"/cards/{merchant.card_id}/debits", body), "debits", 201)
        path = f"/accounts/{merchant.payable_account_id}/credits"
        body = {"amount": 10000, "order": f"/orders/{order['id']}"}
        credit = item(await api.post(path, body), "credits", 201)
        order_ids.append(order["id"])
        debit_ids.append(debit["id"])
        credit_ids.append(credit["id"])
    return FundedAccount(
        merchant, bank_account_id, tuple(order_ids), tuple(debit_ids), tuple(credit_ids)
    )


async def settle(api: Api, account_id: str, bank_account_id: str, **fields: Any) -> Response:
    """POST a settlement of the payable account to the bank account (by its href)."""
    body = {"funding_instrument": f"/bank_accounts/{bank_account_id}"} | fields
    return await api.post(f"/accounts/{account_id}/settlements", {"settlements": [body]})


@dataclass(frozen=True)
class Settled:
    merchant: Customer
    bank_account_id: str
    order_id: str
    credit_id: str
    settlement: dict[str, Any]


async def bank_account_with_a_settlement(api: Api) -> Settled:
    """ "I have a bank account with a settlement": an order with a debit, 12345 of it
    credited into the merchant's payable account, settled to its bank account."""
    ordered = await order_with_debit(api)
    merchant = ordered.merchant
    bank_account_id = await associated_bank_account(api, merchant.id)
    path = f"/accounts/{merchant.payable_account_id}/credits"
    body = {"amount": 12345, "order": ordered.order_id}
    credit = item(await api.post(path, body), "credits", 201)
    response = await settle(api, merchant.payable_account_id, bank_account_id)
    settlement = item(response, "settlements", 201)
    return Settled(merchant, bank_account_id, ordered.order_id, credit["id"], settlement)
