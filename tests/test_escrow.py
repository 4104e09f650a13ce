"""Orders escrow: every money movement of Balanced 1.1's Orders guides, with the order's
figures checked at each step (the marketplace fixture audits the ledger afterwards)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Marketplace
from tests.support import flows, schemas
from tests.support.pipeline import Api, Pipeline, eventually


async def _order_figures(api: Api, order_id: str) -> tuple[int, int]:
    order = (await api.get(f"/orders/{order_id}")).body["orders"][0]
    return order["amount"], order["amount_escrowed"]


async def test_full_refund_empties_the_order(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 12345)
    refund = await flows.created(await api.post(f"/debits/{funded.debit_id}/refunds"), "refunds")
    assert (refund["amount"], refund["status"]) == (12345, "succeeded")
    assert refund["links"]["order"] == funded.order_id
    assert await _order_figures(api, funded.order_id) == (0, 0)
    schemas.validate("refunds", (await api.get(refund["href"])).body)


async def test_several_partial_refunds_up_to_the_debit(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1000)
    for amount in (300, 300):
        await flows.created(
            await api.post(f"/debits/{funded.debit_id}/refunds", {"amount": amount}), "refunds"
        )
    over = await api.post(f"/debits/{funded.debit_id}/refunds", {"amount": 401})
    assert (over.status, over.body["errors"][0]["category_code"]) == (400, "invalid-amount")
    await flows.created(await api.post(f"/debits/{funded.debit_id}/refunds"), "refunds")
    again = await api.post(f"/debits/{funded.debit_id}/refunds", {"amount": 1})
    assert (again.status, again.body["errors"][0]["category_code"]) == (
        409,
        "debit-already-refunded",
    )
    listed = (await api.get(f"/debits/{funded.debit_id}/refunds")).body
    assert [r["amount"] for r in listed["refunds"]] == [300, 300, 400]
    assert await _order_figures(api, funded.order_id) == (0, 0)


async def test_refund_above_escrow_is_refused_until_credits_are_reversed(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1234)
    credit = await flows.credit_order(api, funded, 1234)
    refused = await api.post(f"/debits/{funded.debit_id}/refunds")
    assert (refused.status, refused.body["errors"][0]["category_code"]) == (
        409,
        "insufficient-funds",
    )
    assert (await api.get(f"/debits/{funded.debit_id}/refunds")).body["refunds"] == []
    await flows.credit_status(api, credit["id"], "succeeded")
    reversal = await flows.created(
        await api.post(f"/credits/{credit['id']}/reversals"), "reversals"
    )
    assert reversal["status"] == "pending"
    assert await _order_figures(api, funded.order_id) == (1234, 0)
    await flows.status(api, reversal["href"], "succeeded")
    assert await _order_figures(api, funded.order_id) == (1234, 1234)
    await flows.created(await api.post(f"/debits/{funded.debit_id}/refunds"), "refunds")
    assert await _order_figures(api, funded.order_id) == (0, 0)


async def test_reversal_limits(pipeline: Pipeline, marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1000, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.credit_order(api, funded, 1000)
    pending = await api.post(f"/credits/{credit['id']}/reversals")
    assert (pending.status, pending.body["errors"][0]["category_code"]) == (
        400,
        "cannot-reverse-credit",
    )
    await flows.simulate(pipeline, credit["id"], "settle")
    await flows.credit_status(api, credit["id"], "succeeded")
    over = await api.post(f"/credits/{credit['id']}/reversals", {"amount": 1001})
    assert (over.status, over.body["errors"][0]["category_code"]) == (
        400,
        "invalid-reversal-amount",
    )
    first = await flows.created(
        await api.post(f"/credits/{credit['id']}/reversals", {"amount": 400}), "reversals"
    )
    rest = await flows.created(await api.post(f"/credits/{credit['id']}/reversals"), "reversals")
    assert rest["amount"] == 600
    done = await api.post(f"/credits/{credit['id']}/reversals", {"amount": 1})
    assert (done.status, done.body["errors"][0]["category_code"]) == (
        409,
        "credit-already-reversed",
    )
    await flows.simulate(pipeline, first["id"], "settle")
    await flows.simulate(pipeline, rest["id"], "return")
    await flows.status(api, first["href"], "succeeded")
    failed = await flows.status(api, f"/reversals/{rest['id']}?status=failed", "failed")
    assert failed["failure_reason_code"] == "R03"
    assert await _order_figures(api, funded.order_id) == (1000, 400)
    schemas.validate("reversals", (await api.get(first["href"])).body)


async def test_late_return_fails_a_succeeded_credit_and_restores_escrow(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 800, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.credit_order(api, funded, 800)
    await flows.simulate(pipeline, credit["id"], "settle")
    await flows.credit_status(api, credit["id"], "succeeded")
    assert await _order_figures(api, funded.order_id) == (800, 0)
    await flows.simulate(pipeline, credit["id"], "return", code="R02")
    failed = await flows.credit_status(api, credit["id"], "failed")
    assert failed["failure_reason_code"] == "R02"
    assert await _order_figures(api, funded.order_id) == (800, 800)


async def _payable(api: Api, customer_id: str) -> dict[str, Any]:
    listed = await api.get(f"/customers/{customer_id}/accounts")
    assert listed.status == 200 and listed.body["meta"]["total"] == 1, listed.body
    schemas.validate("accounts", listed.body)
    account: dict[str, Any] = listed.body["accounts"][0]
    return account


async def _balance(api: Api, account_id: str) -> int:
    balance: int = (await api.get(f"/accounts/{account_id}")).body["accounts"][0]["balance"]
    return balance


async def test_account_credit_is_immediate_and_its_reversal_may_go_negative(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 30000)
    account = await _payable(api, funded.merchant_id)
    assert account["type"] == "payable"
    credits = []
    for _ in range(3):
        credit = await flows.created(
            await api.post(
                f"/accounts/{account['id']}/credits", {"amount": 10000, "order": funded.order_id}
            ),
            "credits",
        )
        assert credit["status"] == "succeeded"
        credits.append(credit)
    assert await _balance(api, account["id"]) == 30000
    assert await _order_figures(api, funded.order_id) == (30000, 0)

    settlement = await flows.created(
        await api.post(
            f"/accounts/{account['id']}/settlements",
            {"funding_instrument": f"/bank_accounts/{funded.bank_account_id}"},
        ),
        "settlements",
    )
    assert (settlement["amount"], settlement["status"]) == (30000, "pending")
    assert settlement["transaction_number"].startswith("SC")
    assert await _balance(api, account["id"]) == 0
    await flows.status(api, settlement["href"], "succeeded")
    settled = (await api.get(f"/settlements/{settlement['id']}/credits")).body["credits"]
    assert {c["id"] for c in settled} == {c["id"] for c in credits}

    reversal = await flows.created(
        await api.post(f"/credits/{credits[0]['id']}/reversals"), "reversals"
    )
    assert (reversal["amount"], reversal["status"]) == (10000, "succeeded")
    assert await _balance(api, account["id"]) == -10000
    assert await _order_figures(api, funded.order_id) == (30000, 10000)

    collected = await flows.created(
        await api.post(
            f"/accounts/{account['id']}/settlements", {"funding_instrument": funded.bank_account_id}
        ),
        "settlements",
    )
    assert collected["transaction_number"].startswith("SD")
    assert collected["links"] == {"source": funded.bank_account_id, "destination": account["id"]}
    assert await _balance(api, account["id"]) == 0
    await flows.status(api, collected["href"], "succeeded")
    schemas.validate("settlements", (await api.get(collected["href"])).body)


async def test_settlement_limits(pipeline: Pipeline, marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 500, account_number=flows.ACCOUNT_FAILS)
    account = await _payable(api, funded.merchant_id)
    empty = await api.post(
        f"/accounts/{account['id']}/settlements", {"funding_instrument": funded.bank_account_id}
    )
    assert (empty.status, empty.body["errors"][0]["category_code"]) == (
        409,
        "account-nothing-to-settle",
    )
    missing = await api.post(f"/accounts/{account['id']}/settlements", {})
    assert (missing.status, missing.body["errors"][0]["category_code"]) == (400, "request")
    await flows.created(
        await api.post(
            f"/accounts/{account['id']}/credits", {"amount": 500, "order": funded.order_id}
        ),
        "credits",
    )
    failing = await flows.created(
        await api.post(
            f"/accounts/{account['id']}/settlements", {"funding_instrument": funded.bank_account_id}
        ),
        "settlements",
    )
    failed = await flows.status(api, f"{failing['href']}?status=failed", "failed")
    assert failed["failure_reason_code"].startswith("R")
    assert await _balance(api, account["id"]) == 500


async def test_debits_and_credits_without_an_order_use_the_marketplace_escrow(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    card = await flows.created(
        await api.post(
            "/cards", {"number": flows.VISA, "expiration_month": 1, "expiration_year": 2031}
        ),
        "cards",
    )
    await flows.created(await api.post(f"/cards/{card['id']}/debits", {"amount": 5000}), "debits")
    in_escrow = (await api.get(f"/marketplaces/{marketplace.id}")).body["marketplaces"][0]
    assert in_escrow["in_escrow"] == 5000
    _, bank_account_id = await flows.merchant_with_bank_account(api)
    await flows.created(
        await api.post(f"/bank_accounts/{bank_account_id}/credits", {"amount": 2000}), "credits"
    )
    over = await api.post(f"/bank_accounts/{bank_account_id}/credits", {"amount": 3001})
    assert (over.status, over.body["errors"][0]["category_code"]) == (409, "insufficient-funds")
    marketplace_body = (await api.get(f"/marketplaces/{marketplace.id}")).body
    assert marketplace_body["marketplaces"][0]["in_escrow"] == 3000


async def test_concurrent_one_cent_credits_never_overdraw_the_order(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 100, account_number=flows.ACCOUNT_STAYS_PENDING)
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    responses = await asyncio.gather(
        *(api.post(path, {"amount": 1, "order": funded.order_id}) for _ in range(200))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(201) == 100 and statuses.count(409) == 100, statuses
    assert await _order_figures(api, funded.order_id) == (100, 0)


async def test_a_refused_credit_is_kept_failed_and_moves_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 100, account_number=flows.ACCOUNT_STAYS_PENDING)
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    over = await api.post(path, {"amount": 101, "order": funded.order_id})
    assert (over.status, over.body["errors"][0]["category_code"]) == (409, "insufficient-funds")
    credit_id = over.body["credits"][0]["id"]
    row = await pipeline.pool.fetchrow("SELECT * FROM transactions WHERE id = $1", credit_id)
    assert (row["status"], row["failure_reason_code"]) == ("failed", "insufficient-funds")
    postings = await pipeline.pool.fetchval(
        "SELECT count(*) FROM ledger_postings WHERE transaction_id = $1", credit_id
    )
    outbox = await pipeline.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE args->>'transaction_id' = $1", credit_id
    )
    assert (postings, outbox) == (0, 0)
    assert await _order_figures(api, funded.order_id) == (100, 100)


async def test_refunds_racing_credits_never_overdraw_the_order(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 50, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit_path = f"/bank_accounts/{funded.bank_account_id}/credits"
    refund_path = f"/debits/{funded.debit_id}/refunds"
    requests = []
    for _ in range(50):
        requests.append(api.post(credit_path, {"amount": 1, "order": funded.order_id}))
        requests.append(api.post(refund_path, {"amount": 1}))
    responses = await asyncio.gather(*requests)
    assert sum(r.status == 201 for r in responses) == 50
    assert all(r.status in (201, 409) for r in responses)
    amount, escrowed = await _order_figures(api, funded.order_id)
    assert escrowed == 0 and amount >= 0


async def test_order_description_and_meta_can_be_updated(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 100)
    updated = await api.put(
        f"/orders/{funded.order_id}", {"description": "Renamed", "meta": {"campaign": 7}}
    )
    assert updated.status == 200
    order = updated.body["orders"][0]
    assert (order["description"], order["meta"]) == ("Renamed", {"campaign": "7"})
    debit = await api.put(f"/debits/{funded.debit_id}", {"meta": {"k": "v"}})
    assert debit.body["debits"][0]["meta"] == {"k": "v"}
    found = await api.get(f"/resources/{funded.debit_id}")
    assert found.body["debits"][0]["id"] == funded.debit_id


async def _card(api: Api, number: str = flows.VISA) -> str:
    card = await flows.created(
        await api.post(
            "/cards", {"number": number, "expiration_month": 1, "expiration_year": 2031}
        ),
        "cards",
    )
    card_id: str = card["id"]
    return card_id


async def test_a_hold_changes_its_order_only_when_captured(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 100)
    hold = await flows.created(
        await api.post(
            f"/cards/{await _card(api)}/card_holds", {"amount": 1234, "order": funded.order_id}
        ),
        "card_holds",
    )
    assert hold["status"] == "succeeded" and hold["links"]["debit"] is None
    assert await _order_figures(api, funded.order_id) == (100, 100)
    debit = await flows.created(await api.post(f"/card_holds/{hold['id']}/debits", {}), "debits")
    assert (debit["amount"], debit["links"]["card_hold"]) == (1234, hold["id"])
    assert debit["links"]["order"] == funded.order_id
    assert await _order_figures(api, funded.order_id) == (1334, 1334)
    captured = await api.get(f"/card_holds/{hold['id']}")
    schemas.validate("card_holds", captured.body)
    assert captured.body["card_holds"][0]["links"]["debit"] == debit["id"]
    again = await api.post(f"/card_holds/{hold['id']}/debits", {})
    assert (again.status, again.body["errors"][0]["category_code"]) == (
        409,
        "cannot-capture-authorization",
    )


async def test_a_voided_hold_is_hidden_and_cannot_be_captured(marketplace: Marketplace) -> None:
    api = marketplace.api
    card_id = await _card(api)
    hold = await flows.created(
        await api.post(f"/cards/{card_id}/card_holds", {"amount": 500}), "card_holds"
    )
    over = await api.post(f"/card_holds/{hold['id']}/debits", {"amount": 501})
    assert (over.status, over.body["errors"][0]["category_code"]) == (400, "request")
    voided = await api.delete(f"/card_holds/{hold['id']}")
    assert voided.status == 200 and voided.body["card_holds"][0]["voided_at"] is not None
    assert (await api.get(f"/cards/{card_id}/card_holds")).body["card_holds"] == []
    refused = await api.post(f"/card_holds/{hold['id']}/debits", {})
    assert (refused.status, refused.body["errors"][0]["category_code"]) == (
        409,
        "cannot-capture-authorization",
    )


async def test_a_hold_on_a_declining_card_fails_with_402(marketplace: Marketplace) -> None:
    api = marketplace.api
    response = await api.post(
        f"/cards/{await _card(api, '4444444444444448')}/card_holds", {"amount": 500}
    )
    assert response.status == 402
    assert response.body["card_holds"][0]["status"] == "failed"
    assert response.body["errors"][0]["category_code"] == "card-declined"


async def test_reversals_racing_a_settlement_keep_the_account_consistent(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1000, account_number=flows.ACCOUNT_STAYS_PENDING)
    account = await _payable(api, funded.merchant_id)
    credit = await flows.created(
        await api.post(
            f"/accounts/{account['id']}/credits", {"amount": 1000, "order": funded.order_id}
        ),
        "credits",
    )
    requests = [api.post(f"/credits/{credit['id']}/reversals", {"amount": 100}) for _ in range(5)]
    requests.append(
        api.post(
            f"/accounts/{account['id']}/settlements", {"funding_instrument": funded.bank_account_id}
        )
    )
    responses = await asyncio.gather(*requests)
    assert all(r.status == 201 for r in responses), [r.body for r in responses]
    settled = responses[-1].body["settlements"][0]
    balance = await _balance(api, account["id"])
    reversed_cents = 500
    # Whatever the interleaving, money is conserved: the account ends at what it received,
    # minus what was reversed, minus what the settlement took out (or plus what it collects).
    signed = (
        settled["amount"] if settled["transaction_number"].startswith("SC") else -settled["amount"]
    )
    assert balance == 1000 - reversed_cents - signed
    assert await _order_figures(api, funded.order_id) == (1000, reversed_cents)


async def test_a_notice_of_change_updates_the_bank_account_and_moves_no_money(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 800, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.credit_order(api, funded, 800)
    body = {"code": "C01", "corrected_data": "12345678"}
    await flows.rail_simulation(pipeline, credit["id"], "correct", body)

    async def corrected() -> dict[str, Any] | None:
        bank = (await api.get(f"/bank_accounts/{funded.bank_account_id}")).body["bank_accounts"][0]
        return bank if "ach_noc_code" in bank["meta"] else None

    bank = await eventually(corrected)
    assert bank["meta"] == {"ach_noc_code": "C01", "ach_noc_corrected_data": "12345678"}
    events = (await api.get(f"/bank_accounts/{funded.bank_account_id}/events")).body["events"]
    assert "bank_account.updated" in [e["type"] for e in events]
    assert await _order_figures(api, funded.order_id) == (800, 0)


async def test_the_orders_guide_unwinds_an_order_step_by_step(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """Balanced's Orders guide: fetch the order, list and reverse its credits, list and
    refund its debits, reverse a batched credit and settle the negative balance, checking
    `amount_escrowed` at each step."""
    api = marketplace.api
    funded = await flows.funded_order(api, 10000)
    account = await _payable(api, funded.merchant_id)
    paid = await flows.credit_order(api, funded, 6000)
    batched = await flows.created(
        await api.post(
            f"/accounts/{account['id']}/credits", {"amount": 4000, "order": funded.order_id}
        ),
        "credits",
    )
    await flows.credit_status(api, paid["id"], "succeeded")
    settlement = await flows.created(
        await api.post(
            f"/accounts/{account['id']}/settlements", {"funding_instrument": funded.bank_account_id}
        ),
        "settlements",
    )
    await flows.status(api, settlement["href"], "succeeded")
    assert await _order_figures(api, funded.order_id) == (10000, 0)

    credits = (await api.get(f"/orders/{funded.order_id}/credits")).body["credits"]
    assert {c["id"] for c in credits} == {paid["id"], batched["id"]}
    reversal = await flows.created(await api.post(f"/credits/{paid['id']}/reversals"), "reversals")
    await flows.status(api, reversal["href"], "succeeded")
    assert await _order_figures(api, funded.order_id) == (10000, 6000)
    await flows.created(await api.post(f"/credits/{batched['id']}/reversals"), "reversals")
    assert await _order_figures(api, funded.order_id) == (10000, 10000)
    assert await _balance(api, account["id"]) == -4000

    debits = (await api.get(f"/orders/{funded.order_id}/debits")).body["debits"]
    assert [d["id"] for d in debits] == [funded.debit_id]
    await flows.created(await api.post(f"/debits/{funded.debit_id}/refunds"), "refunds")
    assert await _order_figures(api, funded.order_id) == (0, 0)

    collected = await flows.created(
        await api.post(
            f"/accounts/{account['id']}/settlements", {"funding_instrument": funded.bank_account_id}
        ),
        "settlements",
    )
    assert (collected["amount"], collected["transaction_number"][:2]) == (4000, "SD")
    await flows.status(api, collected["href"], "succeeded")
    assert await _balance(api, account["id"]) == 0
