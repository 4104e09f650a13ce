"""Balanced's customers.feature, one test per scenario (REFERENCE.md §E), each named after
it; responses are checked against Balanced's own schemas."""

from __future__ import annotations

from ledger import instruments
from tests.conftest import Marketplace
from tests.support import steps
from tests.support.pipeline import Pipeline

ADDRESS = {
    "line1": "123 Fake street",
    "line2": "Suite 345",
    "city": "San Francisco",
    "state": "California",
    "postal_code": "94000",
    "country_code": "US",
}


async def test_creating_a_customer(marketplace: Marketplace) -> None:
    body = {"name": "Customer name", "email": "email@example.com", "ssn_last4": "5555"}
    response = await marketplace.api.post("/customers", {"customers": [body]})
    customer = steps.item(response, "customers", 201)
    assert (customer["name"], customer["email"]) == ("Customer name", "email@example.com")
    assert customer["ssn_last4"] == "xxxx"


async def test_creating_a_business_customer(marketplace: Marketplace) -> None:
    body = {"business_name": "Lucky something", "phone": "123123123", "ein": "999999999"}
    response = await marketplace.api.post("/customers", body | {"address": ADDRESS})
    assert steps.item(response, "customers", 201)["address"] == ADDRESS


async def test_get_a_customer(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    found = steps.item(await marketplace.api.get(f"/customers/{customer.id}"), "customers")
    assert found["links"] == {"source": customer.card_id, "destination": None}


async def test_list_all_customers(marketplace: Marketplace) -> None:
    for _ in range(2):
        await steps.created_customer(marketplace.api)
    listed = await marketplace.api.get("/customers")
    steps.item(listed, "customers")
    # Two, and the marketplace's owner customer.
    assert listed.body["meta"]["total"] > 2


async def test_remove_a_customer(pipeline: Pipeline, marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    response = await marketplace.api.delete(f"/customers/{customer.id}")
    assert (response.status, response.body) == (204, {})
    listed = (await marketplace.api.get("/customers")).body["customers"]
    assert customer.id not in {c["id"] for c in listed}
    # Its row and history stay: still readable, marked deleted.
    row = await instruments.get_customer(pipeline.pool, marketplace.id, customer.id)
    assert row["deleted_at"] is not None
    steps.item(await marketplace.api.get(customer.href), "customers")
    refused = await marketplace.api.post(f"/customers/{customer.id}/debits", {"amount": 100})
    steps.error(refused, 404, "not-found")


async def test_update_a_customer(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    changes = {
        "email": "asdf@balancedpayments.com",
        "address": ADDRESS,
        "business_name": "Lucky something",
        "ein": "999999999",
        "meta": {"fb_account": "48120"},
        "phone": "1231231234",
    }
    response = await marketplace.api.put(customer.href, {"customers": [changes]})
    updated = steps.item(response, "customers")
    assert {key: updated[key] for key in changes} == changes
    assert updated["name"] == "Henry Ford"  # Left out, so unchanged.


async def test_add_a_card_to_a_customer(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    customer = await steps.customer_without_instruments(marketplace.api)
    body = {"cards": [{"links": {"customer": customer["id"]}}]}
    attached = steps.item(await marketplace.api.put(f"/cards/{card['id']}", body), "cards")
    assert attached["links"]["customer"] == customer["id"]


async def test_add_a_bank_account_to_a_customer(marketplace: Marketplace) -> None:
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    customer = await steps.customer_without_instruments(marketplace.api)
    body = {"bank_accounts": [{"links": {"customer": customer["id"]}}]}
    response = await marketplace.api.put(f"/bank_accounts/{bank_account['id']}", body)
    assert steps.item(response, "bank_accounts")["links"]["customer"] == customer["id"]


async def test_creating_a_customer_by_name_only(marketplace: Marketplace) -> None:
    """The feature's second "Creating a customer"."""
    response = await marketplace.api.post(
        "/customers", {"customers": [{"name": "Balanced Testing"}]}
    )
    assert steps.item(response, "customers", 201)["name"] == "Balanced Testing"


async def test_set_the_default_destination(marketplace: Marketplace) -> None:
    customer = await steps.customer_without_instruments(marketplace.api)
    bank_account = await steps.tokenized_bank_account(marketplace.api)
    patch = [
        {
            "op": "replace",
            "path": "/customers/0/links/destination",
            "value": bank_account["id"],
        }
    ]
    response = await marketplace.api.request("PATCH", f"/customers/{customer['id']}", patch)
    assert steps.item(response, "customers")["links"]["destination"] == bank_account["id"]
    # A bank account of nobody's named a default becomes the customer's own.
    found = await marketplace.api.get(f"/bank_accounts/{bank_account['id']}")
    assert steps.item(found, "bank_accounts")["links"]["customer"] == customer["id"]


async def test_underwrite_a_customer(marketplace: Marketplace) -> None:
    response = await marketplace.api.post("/customers", {"customers": [{"name": "Henry Ford"}]})
    customer = steps.item(response, "customers", 201)
    assert customer["merchant_status"] == "no-match"
    identity = {"name": "Henry Ford", "dob_month": 7, "dob_year": 1963}
    body = {"customers": [identity | {"address": {"postal_code": "48120"}}]}
    underwritten = steps.item(await marketplace.api.put(customer["href"], body), "customers")
    assert underwritten["merchant_status"] == "underwritten"


async def test_retrieving_accounts_for_a_customer(marketplace: Marketplace) -> None:
    customer = await steps.created_customer(marketplace.api)
    listed = await marketplace.api.get(f"/customers/{customer.id}/accounts")
    steps.item(listed, "accounts")
    assert {a["links"]["customer"] for a in listed.body["accounts"]} == {customer.id}
