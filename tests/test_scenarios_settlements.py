"""Balanced's settlements.feature, one test per scenario (REFERENCE.md §E), each named
after it; responses are checked against Balanced's own schemas. Settlements go through the
rail: `pending` at creation, then `succeeded` or `failed` (README, Balanced's scenarios)."""

from __future__ import annotations

from tests.conftest import Marketplace
from tests.support import flows, schemas, steps
from tests.support.pipeline import Api


async def _balance(api: Api, account_id: str) -> int:
    balance: int = steps.item(await api.get(f"/accounts/{account_id}"), "accounts")["balance"]
    return balance


async def test_create_a_settlement(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await steps.funded_account(api)
    account_id = funded.merchant.payable_account_id
    response = await steps.settle(
        api,
        account_id,
        funded.bank_account_id,
        appears_on_statement_as="Settlement Oct",
        description="Settlement for payouts from October",
    )
    settlement = steps.item(response, "settlements", 201)
    assert (settlement["amount"], settlement["status"]) == (30000, "pending")
    assert settlement["appears_on_statement_as"] == "BAL*Settlement Oct"
    assert settlement["description"] == "Settlement for payouts from October"
    assert settlement["links"] == {"source": account_id, "destination": funded.bank_account_id}
    assert await _balance(api, account_id) == 0
    await flows.status(api, settlement["href"], "succeeded")


async def test_list_settlements(marketplace: Marketplace) -> None:
    settled = [await steps.bank_account_with_a_settlement(marketplace.api) for _ in range(2)]
    listed = await marketplace.api.get("/settlements")
    steps.item(listed, "settlements")
    found = {s["id"] for s in listed.body["settlements"]}
    assert found == {s.settlement["id"] for s in settled}


async def test_retrieving_settlements_for_a_bank_account(marketplace: Marketplace) -> None:
    settled = await steps.bank_account_with_a_settlement(marketplace.api)
    listed = await marketplace.api.get(f"/bank_accounts/{settled.bank_account_id}/settlements")
    steps.item(listed, "settlements")
    found = [(s["id"], s["links"]["destination"]) for s in listed.body["settlements"]]
    assert found == [(settled.settlement["id"], settled.bank_account_id)]


async def test_updating_a_settlement_description(marketplace: Marketplace) -> None:
    settled = await steps.bank_account_with_a_settlement(marketplace.api)
    body = {"description": "A new settlement description"}
    response = await marketplace.api.put(f"/settlements/{settled.settlement['id']}", body)
    assert steps.item(response, "settlements")["description"] == "A new settlement description"


async def test_updating_a_settlement_meta(marketplace: Marketplace) -> None:
    settled = await steps.bank_account_with_a_settlement(marketplace.api)
    body = {"meta": {"reference_number": "546512"}}
    response = await marketplace.api.put(f"/settlements/{settled.settlement['id']}", body)
    assert steps.item(response, "settlements")["meta"] == {"reference_number": "546512"}


async def test_creating_a_settlement_without_a_funding_destination_leads_to_failure(
    marketplace: Marketplace,
) -> None:
    customer, _ = await steps.customer_with_bank_account(marketplace.api)
    body = {"settlements": [{"description": "Will this credit work? Nobody knows"}]}
    path = f"/accounts/{customer.payable_account_id}/settlements"
    steps.error(await marketplace.api.post(path, body), 400, "request")


async def test_creating_a_settlement_for_an_account_with_insufficient_funds_fails(
    marketplace: Marketplace,
) -> None:
    customer, bank_account_id = await steps.customer_with_bank_account(marketplace.api)
    response = await steps.settle(marketplace.api, customer.payable_account_id, bank_account_id)
    steps.error(response, 409, "account-nothing-to-settle")


async def test_settlement_fails(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await steps.funded_account(api)
    account_id = funded.merchant.payable_account_id
    failing = await steps.associated_bank_account(api, funded.merchant.id, flows.ACCOUNT_FAILS)
    description = "Will this settlement work? Certainly not!"
    response = await steps.settle(api, account_id, failing, description=description)
    settlement = steps.item(response, "settlements", 201)
    assert settlement["status"] == "pending"
    failed = await flows.status(api, settlement["href"], "failed")
    assert failed["failure_reason_code"] is not None
    # The balance comes back to the account, to be settled again.
    assert await _balance(api, account_id) == 30000


async def test_retrieving_credits_for_a_settlement(marketplace: Marketplace) -> None:
    settled = await steps.bank_account_with_a_settlement(marketplace.api)
    listed = await marketplace.api.get(f"/settlements/{settled.settlement['id']}/credits")
    steps.item(listed, "credits")
    found = [(c["id"], c["links"]["destination"]) for c in listed.body["credits"]]
    assert found == [(settled.credit_id, settled.merchant.payable_account_id)]
    assert listed.body["credits"][0]["links"]["settlement"] == settled.settlement["id"]


async def test_retrieving_reversals_for_a_settlement(marketplace: Marketplace) -> None:
    api = marketplace.api
    settled = await steps.bank_account_with_a_settlement(api)
    response = await api.post(f"/credits/{settled.credit_id}/reversals")
    reversal = steps.item(response, "reversals", 201)
    account_id = settled.merchant.payable_account_id
    settlement = steps.item(
        await steps.settle(api, account_id, settled.bank_account_id), "settlements", 201
    )
    listed = await api.get(f"/settlements/{settlement['id']}/reversals")
    steps.item(listed, "reversals")
    found = [(r["id"], r["links"]["credit"]) for r in listed.body["reversals"]]
    assert found == [(reversal["id"], settled.credit_id)]
    assert listed.body["reversals"][0]["links"]["settlement"] == settlement["id"]


async def test_retrieving_events_for_a_settlement(marketplace: Marketplace) -> None:
    settled = await steps.bank_account_with_a_settlement(marketplace.api)
    listed = await marketplace.api.get(f"/settlements/{settled.settlement['id']}/events")
    assert listed.status == 200, listed.body
    schemas.validate("events", listed.body)
    events = listed.body["events"]
    assert events and {e["type"].split(".")[0] for e in events} == {"settlement"}
    sources = {e["entity"]["settlements"][0]["links"]["source"] for e in events}
    assert sources == {settled.merchant.payable_account_id}


async def test_retrieving_source_for_a_settlement(marketplace: Marketplace) -> None:
    settled = await steps.bank_account_with_a_settlement(marketplace.api)
    account_id = settled.merchant.payable_account_id
    response = await marketplace.api.get(f"/resources/{account_id}")
    assert steps.item(response, "accounts")["id"] == account_id


async def test_retrieving_destination_for_a_settlement(marketplace: Marketplace) -> None:
    settled = await steps.bank_account_with_a_settlement(marketplace.api)
    response = await marketplace.api.get(f"/resources/{settled.bank_account_id}")
    assert steps.item(response, "bank_accounts")["id"] == settled.bank_account_id


async def test_create_settlement_with_negative_account_balance_from_bank_account(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    settled = await steps.bank_account_with_a_settlement(api)
    found = steps.item(await api.get(f"/settlements/{settled.settlement['id']}"), "settlements")
    assert (found["amount"], found["appears_on_statement_as"]) == (12345, "BAL*example.com")
    account_id = settled.merchant.payable_account_id
    assert await _balance(api, account_id) == 0
    response = await api.post(f"/credits/{settled.credit_id}/reversals")
    steps.item(response, "reversals", 201)
    assert await _balance(api, account_id) == -12345
    response = await steps.settle(
        api,
        account_id,
        settled.bank_account_id,
        appears_on_statement_as="Settlement Oct",
        description="Settlement for payouts from October",
    )
    settlement = steps.item(response, "settlements", 201)
    assert settlement["amount"] == 12345
    assert settlement["appears_on_statement_as"] == "BAL*Settlement Oct"
    assert settlement["description"] == "Settlement for payouts from October"
    assert settlement["links"] == {"source": settled.bank_account_id, "destination": account_id}
    assert await _balance(api, account_id) == 0
    await flows.status(api, settlement["href"], "succeeded")


async def test_settle_an_account_with_negative_balance_from_another_order(
    marketplace: Marketplace,
) -> None:
    """Balanced's last step, "I have a bank account with a settlement", makes a new
    customer; here, as the scenario's name says, the same merchant's other order pays the
    negative balance back."""
    api = marketplace.api
    settled = await steps.bank_account_with_a_settlement(api)
    found = steps.item(await api.get(f"/settlements/{settled.settlement['id']}"), "settlements")
    assert (found["amount"], found["appears_on_statement_as"]) == (12345, "BAL*example.com")
    assert found["links"]["destination"] == settled.bank_account_id
    merchant = settled.merchant
    assert await _balance(api, merchant.payable_account_id) == 0
    response = await api.post(f"/credits/{settled.credit_id}/reversals")
    steps.item(response, "reversals", 201)
    assert await _balance(api, merchant.payable_account_id) == -12345
    order = steps.item(await api.post(f"/customers/{merchant.id}/orders", {}), "orders", 201)
    body = {"amount": 12345, "order": order["id"]}
    steps.item(await api.post(f"/cards/{merchant.card_id}/debits", body), "debits", 201)
    path = f"/accounts/{merchant.payable_account_id}/credits"
    steps.item(await api.post(path, body), "credits", 201)
    assert await _balance(api, merchant.payable_account_id) == 0
    refused = await steps.settle(api, merchant.payable_account_id, settled.bank_account_id)
    steps.error(refused, 409, "account-nothing-to-settle")
