"""Balanced's reversals.feature, one test per scenario (REFERENCE.md §E), each named after
it; responses are checked against Balanced's own schemas.

A credit to a bank account is `pending` until the rail settles it, and only a succeeded
credit can be reversed; a reversal through the rail is `pending` in turn, and settlements
are asynchronous too: these tests wait for the rail where Balanced's scenarios assert a
status at once (README, Balanced's scenarios). Each test has a marketplace of its own, so
those that credit from its escrow fund it first."""

from __future__ import annotations

from typing import Any

from tests.conftest import Marketplace
from tests.support import flows, steps
from tests.support.pipeline import Api, Response


async def _bank_account_with_a_credit(api: Api) -> dict[str, Any]:
    """ "I have a bank account with a credit", once the rail has paid it."""
    await steps.funded_marketplace(api)
    bank_account = await steps.tokenized_bank_account(api)
    response = await api.post(f"/bank_accounts/{bank_account['id']}/credits", {"amount": 2000})
    credit = steps.item(response, "credits", 201)
    return await flows.credit_status(api, credit["id"], "succeeded")


async def _bank_account_with_a_reversal(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """ "I have a bank account with a reversal"."""
    credit = await _bank_account_with_a_credit(api)
    response = await api.post(f"/credits/{credit['id']}/reversals", {})
    return credit, steps.item(response, "reversals", 201)


async def _credited_by_link(api: Api, body: dict[str, Any]) -> Response:
    """A tokenized bank account credited by the link `bank_accounts.credits`, once the
    rail has paid the credit."""
    await steps.funded_marketplace(api)
    created = await api.post("/bank_accounts", steps.BANK_ACCOUNT)
    credited = await api.post(steps.link(created.body, "bank_accounts.credits"), body)
    credit = steps.item(credited, "credits", 201)
    await flows.credit_status(api, credit["id"], "succeeded")
    return credited


async def _root_credit(api: Api, account_number: str) -> Response:
    await steps.funded_marketplace(api)
    destination = steps.BANK_ACCOUNT | {"name": "Michael Jordan", "account_number": account_number}
    body = {"credits": [{"amount": 1234, "destination": destination}]}
    credited = await api.post("/credits", body)
    steps.item(credited, "credits", 201)
    return credited


async def test_creating_a_full_reversal(marketplace: Marketplace) -> None:
    credit = await _bank_account_with_a_credit(marketplace.api)
    response = await marketplace.api.post(f"/credits/{credit['id']}/reversals")
    reversal = steps.item(response, "reversals", 201)
    assert (reversal["amount"], reversal["links"]["credit"]) == (2000, credit["id"])


async def test_creating_a_partial_reversal(marketplace: Marketplace) -> None:
    credit = await _bank_account_with_a_credit(marketplace.api)
    body = {"reversals": [{"amount": 100}]}
    response = await marketplace.api.post(f"/credits/{credit['id']}/reversals", body)
    assert steps.item(response, "reversals", 201)["amount"] == 100


async def test_creating_a_reversal_with_extra_info(marketplace: Marketplace) -> None:
    credit = await _bank_account_with_a_credit(marketplace.api)
    body = {"description": "useful description", "meta": {"extra": "info"}}
    response = await marketplace.api.post(f"/credits/{credit['id']}/reversals", body)
    reversal = steps.item(response, "reversals", 201)
    assert (reversal["description"], reversal["meta"]) == (body["description"], body["meta"])


async def test_list_reversals(marketplace: Marketplace) -> None:
    credit, reversal = await _bank_account_with_a_reversal(marketplace.api)
    listed = await marketplace.api.get(f"/credits/{credit['id']}/reversals")
    steps.item(listed, "reversals")
    assert [r["id"] for r in listed.body["reversals"]] == [reversal["id"]]


async def test_retrieving_a_reversal(marketplace: Marketplace) -> None:
    credit, reversal = await _bank_account_with_a_reversal(marketplace.api)
    found = steps.item(await marketplace.api.get(f"/reversals/{reversal['id']}"), "reversals")
    assert (found["id"], found["links"]["credit"]) == (reversal["id"], credit["id"])


async def test_update_a_reversal(marketplace: Marketplace) -> None:
    _, reversal = await _bank_account_with_a_reversal(marketplace.api)
    description = "merchant did not ship item, taking my money back"
    body = {"reversals": [{"description": description}]}
    response = await marketplace.api.put(f"/reversals/{reversal['id']}", body)
    assert steps.item(response, "reversals")["description"] == description


async def test_reverse_a_credit(marketplace: Marketplace) -> None:
    """Balanced's "Reverse a credit." """
    credited = await _credited_by_link(marketplace.api, {"credits": [{"amount": 2000}]})
    response = await marketplace.api.post(steps.link(credited.body, "credits.reversals"))
    assert steps.item(response, "reversals", 201)["amount"] == 2000


async def test_failed_reversal(marketplace: Marketplace) -> None:
    credited = await _credited_by_link(marketplace.api, {"credits": [{"amount": 2000}]})
    body = {"reversals": [{"amount": 10000000}]}
    response = await marketplace.api.post(steps.link(credited.body, "credits.reversals"), body)
    steps.error(response, 400, "invalid-reversal-amount")


async def test_reverse_a_bank_account_credit_successfully(marketplace: Marketplace) -> None:
    api = marketplace.api
    credited = await _root_credit(api, "9900000095")
    await flows.credit_status(api, credited.body["credits"][0]["id"], "succeeded")
    response = await api.post(steps.link(credited.body, "credits.reversals"))
    reversal = steps.item(response, "reversals", 201)
    assert reversal["status"] == "pending"  # Through the rail.
    await flows.status(api, f"/reversals/{reversal['id']}", "succeeded")


async def test_reverse_a_bank_account_credit_unsuccessfully(marketplace: Marketplace) -> None:
    api = marketplace.api
    credited = await _root_credit(api, flows.ACCOUNT_FAILS)
    await flows.credit_status(api, credited.body["credits"][0]["id"], "failed")
    # Nothing was paid, so there is nothing to reverse: no reversal is created.
    response = await api.post(steps.link(credited.body, "credits.reversals"))
    steps.error(response, 400, "cannot-reverse-credit")
    listed = await api.get("/reversals?status=failed")
    assert listed.body["meta"]["total"] == 0


async def test_reverse_an_account_credit_before_settlement(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await steps.funded_account(api)
    body = {"reversals": [{"amount": 1000}]}
    response = await api.post(f"/credits/{funded.credit_ids[2]}/reversals", body)
    reversal = steps.item(response, "reversals", 201)
    assert (reversal["amount"], reversal["status"]) == (1000, "succeeded")
    account = await api.get(f"/accounts/{funded.merchant.payable_account_id}")
    assert steps.item(account, "accounts")["balance"] == 29000


async def test_reverse_an_account_credit_after_settlement(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await steps.funded_account(api)
    account_id = funded.merchant.payable_account_id
    response = await steps.settle(api, account_id, funded.bank_account_id)
    settlement = steps.item(response, "settlements", 201)
    assert (settlement["amount"], settlement["status"]) == (30000, "pending")
    await flows.status(api, settlement["href"], "succeeded")
    reversed_ = await api.post(f"/credits/{funded.credit_ids[2]}/reversals")
    reversal = steps.item(reversed_, "reversals", 201)
    assert (reversal["amount"], reversal["status"]) == (10000, "succeeded")
    account = steps.item(await api.get(f"/accounts/{account_id}"), "accounts")
    assert account["balance"] == -10000
    response = await steps.settle(api, account_id, funded.bank_account_id)
    settlement = steps.item(response, "settlements", 201)
    # The negative balance is collected from the bank account.
    assert (settlement["amount"], settlement["links"]["destination"]) == (10000, account_id)
    order = await api.get(steps.link(reversed_.body, "reversals.order"))
    assert steps.item(order, "orders")["amount_escrowed"] == 10000
