"""Concurrent credits to bank accounts are made together, in one transaction per batch
(api.credit_batches, ledger.credits.credit_bank_accounts). A batch changes no answer: each
credit is made once, with its posting, event and submission; one refused refuses only
itself; what the escrow cannot cover is kept as failed, as when made alone."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from api.appkeys import CREDIT_BATCHER, REDIS
from api.credit_batches import CreditBatcher
from ledger import credits, db, protocol
from ledger.errors import Conflict, NotFound
from ledger.transfers import TransferRequest, TransferResult
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline

CREDIT_CENTS = 100


async def _credit_concurrently(
    marketplace: Marketplace, funded: flows.FundedOrder, amounts_cents: list[int]
) -> list[Any]:
    return list(
        await asyncio.gather(
            *(
                marketplace.api.post(
                    f"/bank_accounts/{funded.bank_account_id}/credits",
                    {"amount": amount_cents, "order": funded.order_id},
                )
                for amount_cents in amounts_cents
            )
        )
    )


async def test_concurrent_credits_share_batches_and_each_is_made_once(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    count = 30
    funded = await flows.funded_order(marketplace.api, count * CREDIT_CENTS)
    batcher = pipeline.api_server.app[CREDIT_BATCHER]
    batches_before = len(batcher.sizes)

    responses = await _credit_concurrently(marketplace, funded, [CREDIT_CENTS] * count)

    assert [r.status for r in responses] == [201] * count, [r.body for r in responses]
    assert max(batcher.sizes[batches_before:]) > 1, batcher.sizes[batches_before:]
    credit_ids = [r.body["credits"][0]["id"] for r in responses]
    assert len(set(credit_ids)) == count
    made = await pipeline.pool.fetchrow(
        """
        SELECT (SELECT count(*) FROM ledger_postings
                WHERE transaction_id = ANY($1) AND kind = 'credit.created') AS postings,
               (SELECT count(*) FROM events
                WHERE entity_id = ANY($1) AND type = 'credit.created') AS events,
               -- Each is submitted, or its submit job still waits.
               (SELECT count(*) FROM transactions t
                WHERE t.id = ANY($1) AND (t.submitted_at IS NOT NULL
                                          OR EXISTS (SELECT 1 FROM outbox o WHERE o.id = ANY($2)
                                                     AND o.args->>'transaction_id' = t.id)))
                   AS submissions
        """,
        credit_ids,
        [protocol.submit_job_id(credit_id) for credit_id in credit_ids],
    )
    assert dict(made) == {"postings": count, "events": count, "submissions": count}
    assert await flows.escrowed(marketplace.api, funded.order_id) == 0
    for credit_id in credit_ids:
        await flows.credit_status(marketplace.api, credit_id, "succeeded")


async def test_concurrent_credits_beyond_the_escrow_are_kept_as_failed(
    marketplace: Marketplace,
) -> None:
    funded = await flows.funded_order(marketplace.api, 100)

    responses = await _credit_concurrently(marketplace, funded, [60, 60, 60])

    assert sorted(r.status for r in responses) == [201, 409, 409], [r.body for r in responses]
    refused = [r.body for r in responses if r.status == 409]
    assert {body["errors"][0]["category_code"] for body in refused} == {"insufficient-funds"}
    assert {body["credits"][0]["status"] for body in refused} == {"failed"}
    assert await flows.escrowed(marketplace.api, funded.order_id) == 40


async def _batch(
    pipeline: Pipeline, wanted: list[credits.BankAccountCredit]
) -> list[credits.BatchedCredit]:
    async with pipeline.pool.acquire() as connection, connection.transaction():
        answers, _ = await credits.credit_bank_accounts(connection, wanted)
    return answers


async def test_a_credit_refused_in_a_batch_refuses_only_itself(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 300)
    other = await flows.funded_order(marketplace.api, 300)
    asked = TransferRequest(amount_cents=CREDIT_CENTS, order_id=funded.order_id)

    answers = await _batch(
        pipeline,
        [
            credits.BankAccountCredit(marketplace.id, funded.bank_account_id, asked),
            credits.BankAccountCredit(marketplace.id, "BA-not-there", asked),
            # Another merchant's bank account, paid from this order.
            credits.BankAccountCredit(marketplace.id, other.bank_account_id, asked),
            credits.BankAccountCredit(marketplace.id, funded.bank_account_id, asked),
        ],
    )

    made, missing, not_the_merchant, also_made = answers
    assert isinstance(made, TransferResult) and isinstance(also_made, TransferResult)
    assert isinstance(missing, NotFound)
    assert isinstance(not_the_merchant, Conflict)
    assert not_the_merchant.category_code == "funding-destination-not-associated"
    assert await flows.escrowed(marketplace.api, funded.order_id) == 100


async def test_a_credit_its_batch_leaves_uncovered_is_handed_back_to_be_made_alone(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 100)
    wanted = credits.BankAccountCredit(
        marketplace.id,
        funded.bank_account_id,
        TransferRequest(amount_cents=60, order_id=funded.order_id),
    )

    first, second = await _batch(pipeline, [wanted, wanted])

    assert isinstance(first, TransferResult) and first.row.amount_cents == 60
    assert second is None
    assert await flows.escrowed(marketplace.api, funded.order_id) == 40


async def test_a_batch_that_cannot_run_hands_every_credit_back(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 100)
    closed = await db.create_pool(pipeline.settings.database_url, min_size=1, max_size=1)
    await closed.close()
    batcher = CreditBatcher(closed, pipeline.api_server.app[REDIS], pipeline.settings.queue_name)
    wanted = credits.BankAccountCredit(
        marketplace.id,
        funded.bank_account_id,
        TransferRequest(amount_cents=CREDIT_CENTS, order_id=funded.order_id),
    )

    assert await asyncio.gather(batcher.credit(wanted), batcher.credit(wanted)) == [None, None]
    await batcher.close()
    assert await flows.escrowed(marketplace.api, funded.order_id) == 100


FAIL_AT_COMMIT = "fail at commit"


async def test_a_batch_whose_commit_fails_is_not_made_again(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """A failed COMMIT may have taken effect (the connection dropped after the server
    committed): making the credits again could pay twice, so each request gets the error."""
    funded = await flows.funded_order(marketplace.api, 100)
    # A check PostgreSQL makes only at commit, refusing this test's credit.
    await pipeline.pool.execute(
        f"""
        CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.description = '{FAIL_AT_COMMIT}' THEN
                RAISE EXCEPTION 'refused at commit';
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON transactions
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();
        """
    )
    batcher = pipeline.api_server.app[CREDIT_BATCHER]
    wanted = credits.BankAccountCredit(
        marketplace.id,
        funded.bank_account_id,
        TransferRequest(amount_cents=60, order_id=funded.order_id, description=FAIL_AT_COMMIT),
    )
    try:
        with pytest.raises(asyncpg.RaiseError, match="refused at commit"):
            await batcher.credit(wanted)
    finally:
        await pipeline.pool.execute(
            "DROP TRIGGER refuse_at_commit ON transactions; DROP FUNCTION refuse_at_commit()"
        )
    made = await pipeline.pool.fetchval(
        "SELECT count(*) FROM transactions WHERE description = $1", FAIL_AT_COMMIT
    )
    assert made == 0
    assert await flows.escrowed(marketplace.api, funded.order_id) == 100
