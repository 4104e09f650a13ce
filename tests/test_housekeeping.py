"""Tables that would grow forever are purged: finished jobs after three days, idempotency
keys after a day; open jobs and recent rows stay."""

from __future__ import annotations

from ledger import outbox
from tests.conftest import Marketplace
from tests.support.pipeline import Pipeline


async def test_old_finished_jobs_and_expired_idempotency_keys_are_purged(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    pool = pipeline.pool
    await pool.execute(
        # The open row is not due for a day, so that the running sweeper leaves it alone.
        "INSERT INTO outbox (id, job, done_at, not_before) VALUES "
        "('test:old-done', 'submit_transfer', now() - interval '4 days', now()), "
        "('test:recent-done', 'submit_transfer', now(), now()), "
        "('test:old-open', 'submit_transfer', NULL, now() + interval '1 day')"
    )
    await pool.execute(
        "INSERT INTO idempotency_keys (marketplace_id, key, request_sha256, created_at) VALUES "
        "($1, 'old', sha256('a'), now() - interval '25 hours'), ($1, 'new', sha256('b'), now())",
        marketplace.id,
    )
    await outbox.purge(pool, pipeline.settings.outbox_done_kept_ms)
    left = {r["id"] for r in await pool.fetch("SELECT id FROM outbox WHERE id LIKE 'test:%'")}
    assert left == {"test:recent-done", "test:old-open"}
    keys = {
        r["key"]
        for r in await pool.fetch(
            "SELECT key FROM idempotency_keys WHERE marketplace_id = $1", marketplace.id
        )
    }
    assert keys == {"new"}
    await pool.execute("DELETE FROM outbox WHERE id LIKE 'test:%'")


async def test_a_purge_keeps_up_with_more_finished_jobs_than_one_statement_deletes(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    pool = pipeline.pool
    many = outbox.PURGE_BATCH_MAX * 2 + 10
    await pool.execute(
        "INSERT INTO outbox (id, job, done_at) SELECT 'test:bulk-' || i, 'submit_transfer', "
        "now() - interval '4 days' FROM generate_series(1, $1) AS i",
        many,
    )
    assert await outbox.purge(pool, pipeline.settings.outbox_done_kept_ms) >= many
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE id LIKE 'test:bulk-%'") == 0
