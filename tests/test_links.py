"""Every link template Balanced's collections carry resolves (issue 10, item 6): each one,
expanded for a resource that has the link, answers 200 with a Balanced envelope; and
`GET /resources/{id}` finds a resource of every kind."""

from __future__ import annotations

from typing import Any

from ledger import wire
from tests.conftest import Marketplace
from tests.support import ach, flows, steps
from tests.support.pipeline import Api

# Links to resources ballast does not have yet (external accounts; a customer's mixed list
# of transactions), or never sets (a refund's dispute: the simulated card network disputes
# debits only).
NOT_YET = frozenset(
    {
        "marketplaces.external_accounts",
        "customers.external_accounts",
        "customers.transactions",
        "refunds.dispute",
    }
)


async def _every_kind(api: Api, marketplace: Marketplace) -> dict[str, str]:
    """One resource of every kind, each with every link it can have set: an order paid by a
    customer's card through a captured hold (the card that is disputed), paid out to the
    merchant's verified bank account and payable account, refunded, reversed and settled."""
    funded = await flows.funded_order(api, 50_000)
    buyer, _ = await steps.customer_with_bank_account(api)  # A source and a destination.
    card = await _created(
        api.post(
            f"/customers/{buyer.id}/cards",
            {"number": ach.DISPUTE_CARD, "expiration_month": 12, "expiration_year": 2030},
        )
    )
    hold = await _created(
        api.post(f"/cards/{card['id']}/card_holds", {"amount": 1000, "order": funded.order_id})
    )
    debit = await _created(api.post(f"/card_holds/{hold['id']}/debits", {}))
    # A disputed debit is not refunded: the order's first debit is.
    refund = await _created(api.post(f"/debits/{funded.debit_id}/refunds", {"amount": 100}))
    verification = await _created(
        api.post(f"/bank_accounts/{funded.bank_account_id}/verifications")
    )
    confirmed = await api.put(verification["href"], {"amount_1": 1, "amount_2": 1})
    assert confirmed.status == 200, confirmed.body
    credit = await flows.credit_order(api, funded, 1000)
    account = (await api.get(f"/customers/{funded.merchant_id}/accounts")).body["accounts"][0]
    path = f"/accounts/{account['id']}/credits"
    paid = await _created(api.post(path, {"amount": 2000, "order": funded.order_id}))
    reversal = await _created(api.post(f"/credits/{paid['id']}/reversals", {"amount": 500}))
    body = {"funding_instrument": funded.bank_account_id}
    settlement = await _created(api.post(f"/accounts/{account['id']}/settlements", body))
    event = (await api.get("/events?limit=1")).body["events"][0]
    return {
        "marketplaces": marketplace.id,
        "customers": buyer.id,
        "bank_accounts": funded.bank_account_id,
        "cards": card["id"],
        "orders": funded.order_id,
        "debits": debit["id"],
        "credits": paid["id"],
        "refunds": refund["id"],
        "reversals": reversal["id"],
        "settlements": settlement["id"],
        "card_holds": hold["id"],
        "accounts": account["id"],
        "events": event["id"],
        "bank_account_verifications": verification["id"],
        "disputes": debit["links"]["dispute"],
        "bank_account_credit": credit["id"],
    }


async def _created(request: Any) -> dict[str, Any]:
    """The one resource a POST created (Balanced's schemas are checked elsewhere: here only
    the links matter)."""
    response = await request
    assert response.status == 201, response.body
    created: dict[str, Any] = next(v for k, v in response.body.items() if k != "links")[0]
    return created


async def test_every_link_template_resolves(marketplace: Marketplace) -> None:
    api = marketplace.api
    made = await _every_kind(api, marketplace)
    resolved: set[str] = set()
    for plural, resource_id in made.items():
        if plural not in wire.LINK_TEMPLATES:
            continue
        body = (await api.get(f"/resources/{resource_id}")).body
        for rel in wire.LINK_TEMPLATES[plural]:
            if rel in NOT_YET or _unset(body, rel):
                continue
            path = steps.link(body, rel)
            response = await api.get(path)
            assert response.status == 200, (rel, path, response.body)
            assert "links" in response.body, (rel, path)
            resolved.add(rel)
    templates = {rel for links in wire.LINK_TEMPLATES.values() for rel in links}
    expected = {rel for rel in templates if rel.split(".")[0] in made} - NOT_YET
    assert expected - resolved == set()


def _unset(body: dict[str, Any], rel: str) -> bool:
    """Whether the link names a resource the item does not have (`credits.settlement` of an
    unsettled credit): Balanced's templates then cannot expand."""
    plural, name = rel.split(".", 1)
    links = body[plural][0].get("links", {})
    return name in links and links[name] is None


async def test_resources_finds_every_kind(marketplace: Marketplace) -> None:
    made = await _every_kind(marketplace.api, marketplace)
    callback = await _created(
        marketplace.api.post("/callbacks", {"url": "http://127.0.0.1:9/hooks"})
    )
    key = (await marketplace.api.post("/api_keys")).body["api_keys"][0]
    made |= {"callbacks": callback["id"], "api_keys": key["id"]}
    made.pop("bank_account_credit")
    for plural, resource_id in made.items():
        response = await marketplace.api.get(f"/resources/{resource_id}")
        assert response.status == 200, (plural, response.body)
        assert response.body[plural][0]["id"] == resource_id
    await marketplace.api.delete(f"/callbacks/{callback['id']}")
