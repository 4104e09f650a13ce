"""The spine: a credit travels API → PostgreSQL → arq → rail → signed callback."""

from __future__ import annotations

import redis.asyncio as redis_asyncio
import standardwebhooks

from ledger import outbox, outcomes, protocol
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline
from tests.support.receiver import Receiver


async def test_crowdfunding_walkthrough_pays_merchant_and_marketplace_with_signed_callbacks(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    receiver = Receiver()
    callback = await flows.subscribe(pipeline, api, receiver)
    funded = await flows.funded_order(api, 10000)
    assert await flows.escrowed(api, funded.order_id) == 10000

    owner_accounts = await api.get(f"/customers/{marketplace.owner_customer_id}/bank_accounts")
    assert owner_accounts.status == 200, owner_accounts.body
    owner_bank = owner_accounts.body["bank_accounts"][0]["id"]
    to_merchant = await flows.created(
        await api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 9000, "order": funded.order_id},
        ),
        "credits",
    )
    cut = await flows.created(
        await api.post(
            f"/bank_accounts/{owner_bank}/credits",
            {"amount": 1000, "order": f"/orders/{funded.order_id}"},
        ),
        "credits",
    )
    assert to_merchant["status"] == cut["status"] == "pending"
    assert await flows.escrowed(api, funded.order_id) == 0

    for credit in (to_merchant, cut):
        assert (await flows.credit_status(api, credit["id"], "succeeded"))["amount"] > 0
        for event_type in ("credit.created", "credit.succeeded"):
            delivery = await receiver.wait_for(event_type, credit["id"])
            verified = standardwebhooks.Webhook(callback["secret"]).verify(
                delivery.body, delivery.headers
            )
            assert verified["events"][0]["entity"]["credits"][0]["id"] == credit["id"]
    order = (await api.get(f"/orders/{funded.order_id}")).body["orders"][0]
    assert (order["amount"], order["amount_escrowed"]) == (10000, 0)


async def test_credit_to_failing_account_fails_with_return_code_and_restores_escrow(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    receiver = Receiver()
    await flows.subscribe(pipeline, api, receiver)
    funded = await flows.funded_order(api, 5000, account_number=flows.ACCOUNT_FAILS)
    credit = await flows.created(
        await api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 5000, "order": funded.order_id},
        ),
        "credits",
    )
    assert await flows.escrowed(api, funded.order_id) == 0

    failed = await flows.credit_status(api, credit["id"], "failed")
    assert failed["failure_reason_code"].startswith("R")
    assert failed["failure_reason"]
    assert await flows.escrowed(api, funded.order_id) == 5000
    delivery = await receiver.wait_for("credit.failed", credit["id"])
    assert (
        delivery.event["entity"]["credits"][0]["failure_reason_code"]
        == failed["failure_reason_code"]
    )


async def test_credit_above_escrow_is_refused_with_insufficient_funds_and_moves_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1234)
    response = await api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 2000, "order": funded.order_id},
    )
    assert response.status == 409
    error = response.body["errors"][0]
    assert (error["category_code"], error["category_type"]) == ("insufficient-funds", "logical")
    assert response.body["credits"][0]["status"] == "failed"
    assert await flows.escrowed(api, funded.order_id) == 1234
    postings = await pipeline.pool.fetchval(
        "SELECT count(*) FROM ledger_postings WHERE transaction_id = $1",
        response.body["credits"][0]["id"],
    )
    assert postings == 0
    listed = await api.get(f"/orders/{funded.order_id}/credits")
    assert listed.body["credits"] == [] and listed.body["meta"]["total"] == 0


async def _pending_credit(api: object, pipeline: Pipeline, marketplace: Marketplace) -> str:
    funded = await flows.funded_order(
        marketplace.api, 700, account_number=flows.ACCOUNT_STAYS_PENDING
    )
    credit = await flows.created(
        await marketplace.api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 700, "order": funded.order_id},
        ),
        "credits",
    )
    credit_id: str = credit["id"]
    return credit_id


async def test_submitting_a_credit_twice_reaches_the_rail_once(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    credit_id = await _pending_credit(None, pipeline, marketplace)
    trace = await _trace_number(pipeline, credit_id)
    # Run the job again as a queue entry delivered twice would.
    await flows.submit_job_again(pipeline, credit_id)
    await pipeline.pool.execute(
        "UPDATE transactions SET submitted_at = NULL WHERE id = $1", credit_id
    )
    from workers.transfers import submit_transfer

    ctx = pipeline.worker.ctx  # type: ignore[union-attr]
    await submit_transfer(ctx, protocol.submit_job_id(credit_id))  # type: ignore[arg-type]
    await submit_transfer(ctx, protocol.submit_job_id(credit_id))  # type: ignore[arg-type]
    assert await _trace_number(pipeline, credit_id) == trace
    async with pipeline.http.get(f"{pipeline.rail_url}/entries/{credit_id}") as response:
        entry = await response.json()
    assert entry["trace_number"] == trace and entry["status"] == "pending"


async def _trace_number(pipeline: Pipeline, credit_id: str) -> str:
    from tests.support.pipeline import eventually

    async def submitted() -> str | None:
        value: str | None = await pipeline.pool.fetchval(
            "SELECT rail_trace_number FROM transactions WHERE id = $1", credit_id
        )
        return value

    trace: str = await eventually(submitted)
    return trace


async def test_applying_an_outcome_twice_moves_money_once(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    credit_id = await _pending_credit(None, pipeline, marketplace)
    entry = {"id": credit_id, "kind": "credit", "return_code": None, "return_reason": None}
    notification = {"id": f"test-{credit_id}", "type": "entry.settled", "entry": entry}
    for _ in range(2):
        async with pipeline.pool.acquire() as connection, connection.transaction():
            await outcomes.apply_rail_outcome(connection, notification)
    postings = await pipeline.pool.fetch(
        "SELECT kind FROM ledger_postings WHERE transaction_id = $1 ORDER BY id", credit_id
    )
    assert [p["kind"] for p in postings] == ["credit.created", "credit.succeeded"]
    events = await pipeline.pool.fetch(
        "SELECT type FROM events WHERE entity_id = $1 ORDER BY sequence", credit_id
    )
    assert [e["type"] for e in events] == ["credit.created", "credit.succeeded"]


async def test_credit_whose_job_was_lost_with_redis_still_succeeds_through_the_sweeper(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 3000)
    await pipeline.stop_worker()
    try:
        credit = await flows.created(
            await api.post(
                f"/bank_accounts/{funded.bank_account_id}/credits",
                {"amount": 3000, "order": funded.order_id},
            ),
            "credits",
        )
        client = redis_asyncio.from_url(pipeline.settings.redis_url)
        await client.flushdb()
        await client.aclose()
    finally:
        await pipeline.start_worker()
    await flows.credit_status(api, credit["id"], "succeeded")
    assert await flows.job_done(pipeline, protocol.submit_job_id(credit["id"]))
    assert outbox.SWEEP_BATCH_MAX > 0


async def test_a_transfer_decided_before_its_submission_was_recorded_keeps_its_trace_number(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """The submit job died after the rail took the entry and the outcome was applied
    before the job ran again: the re-run reads the trace number from the rail instead of
    leaving the transfer without one, and submits nothing."""
    credit_id = await _pending_credit(None, pipeline, marketplace)
    trace = await _trace_number(pipeline, credit_id)
    await pipeline.pool.execute(
        "UPDATE transactions SET submitted_at = NULL, rail_trace_number = NULL WHERE id = $1",
        credit_id,
    )
    await flows.rail_simulation(pipeline, credit_id, "settle", {})
    await flows.credit_status(marketplace.api, credit_id, "succeeded")
    await flows.submit_job_again(pipeline, credit_id)
    async with pipeline.http.get(f"{pipeline.rail_url}/healthz") as response:
        resubmissions_before = (await response.json())["resubmissions"]
    from workers.transfers import submit_transfer

    ctx = pipeline.worker.ctx  # type: ignore[union-attr]
    await submit_transfer(ctx, protocol.submit_job_id(credit_id))  # type: ignore[arg-type]
    assert await _trace_number(pipeline, credit_id) == trace
    assert await flows.job_done(pipeline, protocol.submit_job_id(credit_id))
    async with pipeline.http.get(f"{pipeline.rail_url}/healthz") as response:
        assert (await response.json())["resubmissions"] == resubmissions_before
