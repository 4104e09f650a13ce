"""Steps of Balanced's bank-account scenarios: tokenize, verify, debit over ACH, dispute."""

from __future__ import annotations

from typing import Any

from tests.support import flows
from tests.support.pipeline import Api

# Balanced's scenario bank account: routing 321174851, account …01 (the rail keeps it
# pending until told), …03 (settles), …05 (returned, R01 for a debit).
SCENARIO_ROUTING = "321174851"
SCENARIO_ACCOUNT = "9900000001"
# The card Balanced documents as producing a dispute after its debit.
DISPUTE_CARD = "6500000000000002"


async def tokenized_bank_account(
    api: Api, routing: str = SCENARIO_ROUTING, account_number: str = SCENARIO_ACCOUNT
) -> dict[str, Any]:
    """Balanced's step "I have tokenized a bank account"."""
    body = {
        "name": "Hhenry Ford",
        "routing_number": routing,
        "account_number": account_number,
        "account_type": "checking",
    }
    return await flows.created(await api.post("/bank_accounts", body), "bank_accounts")


async def with_verification(api: Api, bank_account: dict[str, Any]) -> dict[str, Any]:
    """Balanced's step "I have a bank account with a verification"."""
    created = await api.post(f"{bank_account['href']}/verifications", {})
    return await flows.created(created, "bank_account_verifications")


async def verified_bank_account(
    api: Api, routing: str = SCENARIO_ROUTING, account_number: str = SCENARIO_ACCOUNT
) -> dict[str, Any]:
    """Balanced's step "I have a verified bank account": deposits confirmed (1 and 1)."""
    bank_account = await tokenized_bank_account(api, routing, account_number)
    verification = await with_verification(api, bank_account)
    confirmed = await api.put(verification["href"], {"amount_1": 1, "amount_2": 1})
    assert confirmed.status == 200, confirmed.body
    item: dict[str, Any] = (await api.get(bank_account["href"])).body["bank_accounts"][0]
    return item


async def disputed_debit(
    api: Api, amount_cents: int, order_id: str | None = None
) -> dict[str, Any]:
    """Balanced's step "I have debited a card that will initiate a dispute"."""
    card = await flows.created(
        await api.post(
            "/cards",
            {"number": DISPUTE_CARD, "expiration_month": 12, "expiration_year": 2030, "cvv": "123"},
        ),
        "cards",
    )
    body: dict[str, Any] = {"amount": amount_cents}
    if order_id is not None:
        body["order"] = order_id
    return await flows.created(await api.post(f"/cards/{card['id']}/debits", body), "debits")
