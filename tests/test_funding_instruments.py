"""Customers' instruments and default funding instruments, and root transfers, beyond
Balanced's own scenarios (tests/test_scenarios_*.py): the rules ballast decides, the
database backing them, and bad input refused whole."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import Marketplace
from tests.support import ach, flows, steps
from tests.support.pipeline import Pipeline


async def test_a_plain_object_patch_is_a_put(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    response = await marketplace.api.request("PATCH", card["href"], {"meta": {"a": "b"}})
    assert steps.item(response, "cards")["meta"] == {"a": "b"}


@pytest.mark.parametrize(
    "patch",
    [
        [{"op": "move", "path": "/cards/0/meta/b"}],
        [{"op": "frobnicate", "path": "/cards/0/meta/a"}],
        [{"op": "add", "path": "cards/0/meta/a", "value": "x"}],
        [],
    ],
    ids=["move-without-from", "op", "not-a-pointer", "empty"],
)
async def test_a_malformed_patch_is_refused_and_changes_nothing(
    marketplace: Marketplace, patch: list[dict[str, str]]
) -> None:
    card = await steps.tokenized_card(marketplace.api)
    steps.error(await marketplace.api.request("PATCH", card["href"], patch), 400, "request")
    assert steps.item(await marketplace.api.get(card["href"]), "cards") == card


@pytest.mark.parametrize(
    "patch",
    [
        [{"op": "replace", "path": "/cards/0/meta/missing", "value": "x"}],
        [{"op": "add", "path": "/nowhere/0/meta", "value": "x"}],
        [{"op": "remove", "path": "/cards"}],
        [{"op": "replace", "path": "/cards/0/links", "value": "x"}],
    ],
    ids=["replace-missing", "bad-path", "remove-all", "links"],
)
async def test_a_patch_the_resource_cannot_take_is_a_conflict_and_changes_nothing(
    marketplace: Marketplace, patch: list[dict[str, str]]
) -> None:
    """RFC 5789: a well-formed patch that does not fit the resource's state is a 409."""
    card = await steps.tokenized_card(marketplace.api)
    response = await marketplace.api.request("PATCH", card["href"], patch)
    steps.error(response, 409, "request")
    assert steps.item(await marketplace.api.get(card["href"]), "cards") == card


async def test_another_customers_card_cannot_be_a_default_source(marketplace: Marketplace) -> None:
    owner = await steps.created_customer(marketplace.api)
    other = await steps.customer_without_instruments(marketplace.api)
    patch = [{"op": "replace", "path": "/customers/0/links/source", "value": owner.card_id}]
    response = await marketplace.api.request("PATCH", other["href"], patch)
    steps.error(response, 409, "funding-source-already-associated")


async def test_a_card_attached_to_one_customer_is_never_moved_to_another(
    marketplace: Marketplace,
) -> None:
    owner = await steps.created_customer(marketplace.api)
    other = await steps.customer_without_instruments(marketplace.api)
    body = {"links": {"customer": other["id"]}}
    response = await marketplace.api.put(f"/cards/{owner.card_id}", body)
    steps.error(response, 409, "card-already-funding-src")


async def test_the_database_refuses_a_default_that_is_not_the_customers_own(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    owner = await steps.created_customer(marketplace.api)
    other = await steps.customer_without_instruments(marketplace.api)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="customers_source_card_own"):
        await pipeline.pool.execute(
            "UPDATE customers SET source_card_id = $1 WHERE id = $2", owner.card_id, other["id"]
        )


async def test_unstoring_the_named_source_falls_back_to_the_newest_card(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    customer = await steps.created_customer(api)
    newer = steps.item(await api.post(f"/customers/{customer.id}/cards", steps.CARD), "cards", 201)
    found = steps.item(await api.get(customer.href), "customers")
    assert found["links"]["source"] == customer.card_id  # Named, though older.
    assert (await api.delete(f"/cards/{customer.card_id}")).status == 204
    found = steps.item(await api.get(customer.href), "customers")
    assert found["links"]["source"] == newer["id"], (customer.card_id, newer["id"])
    debit = await api.post(f"/customers/{customer.id}/debits", {"amount": 100})
    assert steps.item(debit, "debits", 201)["links"]["source"] == newer["id"]


async def test_a_customer_credit_keeps_the_order_rules(marketplace: Marketplace) -> None:
    funded = await flows.funded_order(marketplace.api, 1000)
    path = f"/customers/{funded.merchant_id}/credits"
    response = await marketplace.api.post(path, {"amount": 1001, "order": funded.order_id})
    assert response.status == 409, response.body
    assert response.body["credits"][0]["status"] == "failed"
    assert response.body["errors"][0]["category_code"] == "insufficient-funds"
    paid = await marketplace.api.post(path, {"amount": 1000, "order": funded.order_id})
    assert steps.item(paid, "credits", 201)["links"]["destination"] == funded.bank_account_id
    assert await flows.escrowed(marketplace.api, funded.order_id) == 0


async def test_a_root_credit_tokenizes_an_inline_bank_account(marketplace: Marketplace) -> None:
    await steps.funded_marketplace(marketplace.api)
    body = {"amount": 700, "destination": steps.BANK_ACCOUNT}
    credit = steps.item(await marketplace.api.post("/credits", body), "credits", 201)
    assert credit["status"] == "pending"
    found = await marketplace.api.get(f"/bank_accounts/{credit['links']['destination']}")
    assert steps.item(found, "bank_accounts")["account_number"].endswith("0002")


async def test_a_root_credit_to_a_payable_account_by_href(marketplace: Marketplace) -> None:
    funded = await flows.funded_order(marketplace.api, 1000)
    accounts = await marketplace.api.get(f"/customers/{funded.merchant_id}/accounts")
    account = accounts.body["accounts"][0]
    body = {"amount": 400, "order": funded.order_id, "destination": account["href"]}
    response = await marketplace.api.post("/credits", body)
    assert response.status == 201, response.body
    assert response.body["credits"][0]["status"] == "succeeded"


async def test_a_root_debit_of_a_bank_account_is_an_ach_debit_once_it_is_verified(
    marketplace: Marketplace,
) -> None:
    """Unverified, the debit is kept `failed` and answered 409 beside it; verified, it is an
    ACH debit, `pending` until the rail settles it."""
    api = marketplace.api
    unverified = await steps.tokenized_bank_account(api)
    body = {"amount": 100, "source": unverified["href"]}
    response = await api.post("/debits", body)
    steps.error(response, 409, "funding-source-not-debitable")
    assert response.body["debits"][0]["status"] == "failed"
    assert (await api.get("/debits?status=failed")).body["meta"]["total"] == 1
    verified = await ach.verified_bank_account(api)
    response = await api.post("/debits", {"amount": 100, "source": verified["href"]})
    assert response.status == 201, response.body
    assert response.body["debits"][0]["status"] == "pending"


async def test_a_root_debit_with_a_bad_inline_card_leaves_nothing(marketplace: Marketplace) -> None:
    source = {"number": "4111111111111112", "expiration_month": 1, "expiration_year": 2030}
    response = await marketplace.api.post("/debits", {"amount": 100, "source": source})
    steps.error(response, 409, "card-not-validated")
    assert (await marketplace.api.get("/cards")).body["meta"]["total"] == 0


async def test_a_method_not_allowed_names_the_allowed_ones(marketplace: Marketplace) -> None:
    customer = await steps.customer_without_instruments(marketplace.api)
    response = await marketplace.api.post(customer["href"], {})
    steps.error(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "DELETE, GET, HEAD, PATCH, PUT"


async def test_unstoring_twice_is_one_unstoring(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    for _ in range(2):
        assert (await marketplace.api.delete(card["href"])).status == 204
    listed = await marketplace.api.get(f"/cards/{card['id']}/events")
    types = [event["type"] for event in listed.body["events"]]
    assert types.count("card.invalidated") == 1, types


async def test_a_patch_holding_a_nul_character_is_refused(marketplace: Marketplace) -> None:
    card = await steps.tokenized_card(marketplace.api)
    patch = [{"op": "add", "path": "/cards/0/meta/a", "value": "b\u0000"}]
    steps.error(await marketplace.api.request("PATCH", card["href"], patch), 400, "request")


async def test_a_null_meta_in_a_put_keeps_the_customers_meta(marketplace: Marketplace) -> None:
    """Found by schemathesis: it was a NOT NULL violation (500); null means "not given", as
    for cards and bank accounts."""
    customer = steps.item(
        await marketplace.api.post("/customers", {"name": "Ada", "meta": {"tier": "gold"}}),
        "customers",
        201,
    )
    response = await marketplace.api.put(customer["href"], {"meta": None, "name": "Ada L."})
    updated = steps.item(response, "customers")
    assert (updated["name"], updated["meta"]) == ("Ada L.", {"tier": "gold"})
