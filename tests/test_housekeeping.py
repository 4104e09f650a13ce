"""Tables that would grow forever do not: a finished job deletes its own row, and
idempotency keys are purged after a day; open jobs and recent keys stay."""

from __future__ import annotations

from ledger import idempotency
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline


async def test_expired_idempotency_keys_are_purged_and_recent_ones_kept(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    pool = pipeline.pool
    await pool.execute(
        "INSERT INTO idempotency_keys (marketplace_id, key, request_sha256, created_at) VALUES "
        "($1, 'old', sha256('a'), now() - interval '25 hours'), ($1, 'new', sha256('b'), now())",
        marketplace.id,
    )
    await idempotency.purge(pool)
    keys = {
        r["key"]
        for r in await pool.fetch(
            "SELECT key FROM idempotency_keys WHERE marketplace_id = $1", marketplace.id
        )
    }
    assert keys == {"new"}


async def test_a_finished_job_leaves_no_row_and_an_open_one_stays(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    pool = pipeline.pool
    # Not due for a day, so that the running sweeper leaves it alone.
    await pool.execute(
        "INSERT INTO outbox (id, job, not_before) "
        "VALUES ('test:open', 'submit_transfer', now() + interval '1 day')"
    )
    funded = await flows.funded_order(marketplace.api, 10_000)
    credit = await flows.credit_order(marketplace.api, funded, 2_500)
    await flows.credit_status(marketplace.api, credit["id"], "succeeded")
    jobs_of_the_credit = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE id <> 'test:open' AND (args->>'transaction_id' = $1 "
        "OR args->'entry'->>'id' = $1)",
        credit["id"],
    )
    assert jobs_of_the_credit == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE id = 'test:open'") == 1
    await pool.execute("DELETE FROM outbox WHERE id = 'test:open'")
