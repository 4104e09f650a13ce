"""Balanced's bank_accounts.feature, one test per scenario (REFERENCE.md §E), each named
after it; responses are checked against Balanced's own schemas. "Tokenize a bank account"
(without a secret key) is a deliberate difference, and "Debit a bank account" is in
tests/test_ach_debits.py with the other ACH debits."""

from __future__ import annotations

from tests.conftest import Marketplace
from tests.support import steps

SAVINGS = {
    "name": "Jack Lalanne",
    "account_number": "200938202",
    "routing_number": "121042882",
    "account_type": "savings",
}


async def test_tokenize_a_savings_account(marketplace: Marketplace) -> None:
    response = await marketplace.api.post("/bank_accounts", {"bank_accounts": [SAVINGS]})
    assert steps.item(response, "bank_accounts", 201)["account_type"] == "savings"


async def test_tokenize_a_bank_account_with_an_address(marketplace: Marketplace) -> None:
    address = {
        "line1": "965 Mission St",
        "line2": "Suite 425",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94103",
        "country_code": "US",
    }
    body = SAVINGS | {"account_type": "checking", "address": address}
    response = await marketplace.api.post("/bank_accounts", {"bank_accounts": [body]})
    assert steps.item(response, "bank_accounts", 201)["address"] == address


async def test_retrieve_a_bank_account(marketplace: Marketplace) -> None:
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    found = await marketplace.api.get(f"/bank_accounts/{bank_account['id']}")
    assert steps.item(found, "bank_accounts") == bank_account


async def test_list_bank_accounts(marketplace: Marketplace) -> None:
    made = [await steps.tokenized_bank_account(marketplace.api) for _ in range(2)]
    listed = await marketplace.api.get("/bank_accounts")
    steps.item(listed, "bank_accounts")
    assert {b["id"] for b in made} <= {b["id"] for b in listed.body["bank_accounts"]}


async def test_unstore_a_bank_account(marketplace: Marketplace) -> None:
    await steps.funded_marketplace(marketplace.api)
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    response = await marketplace.api.delete(f"/bank_accounts/{bank_account['id']}")
    assert (response.status, response.body) == (204, {})
    listed = await marketplace.api.get("/bank_accounts")
    assert bank_account["id"] not in {b["id"] for b in listed.body["bank_accounts"]}
    found = steps.item(await marketplace.api.get(bank_account["href"]), "bank_accounts")
    assert found["can_credit"] is False
    refused = await marketplace.api.post(f"{bank_account['href']}/credits", {"amount": 100})
    steps.error(refused, 400, "request")


async def test_update_a_bank_account(marketplace: Marketplace) -> None:
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    body = {"meta": {"random": "hello world"}}
    response = await marketplace.api.put(f"/bank_accounts/{bank_account['id']}", body)
    assert steps.item(response, "bank_accounts")["meta"] == {"random": "hello world"}


async def test_credit_a_bank_account(marketplace: Marketplace) -> None:
    await steps.funded_marketplace(marketplace.api)
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    body = {"credits": [{"amount": 1234}]}
    response = await marketplace.api.post(f"/bank_accounts/{bank_account['id']}/credits", body)
    assert steps.item(response, "credits", 201)["links"]["destination"] == bank_account["id"]


async def test_infer_bank_names(marketplace: Marketplace) -> None:
    for number, routing, bank in [
        ("982379283", "121000358", "BANK OF AMERICA, N.A."),
        ("33727930", "322271627", "J.P. MORGAN CHASE BANK, N.A."),
    ]:
        body = {"name": "Michael Johnson", "account_number": number, "routing_number": routing}
        response = await marketplace.api.post("/bank_accounts", {"bank_accounts": [body]})
        assert steps.item(response, "bank_accounts", 201)["bank_name"] == bank


async def test_add_a_bank_account_to_a_customer(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    patch = [{"op": "replace", "path": "/bank_accounts/0/links/customer", "value": customer.id}]
    response = await marketplace.api.request("PATCH", bank_account["href"], patch)
    assert steps.item(response, "bank_accounts")["links"]["customer"] == customer.id
