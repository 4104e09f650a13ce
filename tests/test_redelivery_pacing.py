"""A range redelivery (up to 10k events) shares the job queue with every marketplace's
transfers: it is paced, so a credit created right after it is not queued behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis.asyncio as redis_asyncio

from ledger import protocol
from ledger.callbacks import REDELIVERY_BURST, REDELIVERY_INTERVAL_MS
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline
from tests.support.receiver import Receiver

EVENTS = 3_000


async def test_a_large_range_redelivery_does_not_queue_ahead_of_a_later_credit(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    callback = await flows.subscribe(pipeline, marketplace.api, Receiver())
    funded = await flows.funded_order(marketplace.api, 500)
    since = datetime.now(UTC) - timedelta(hours=1)
    await pipeline.pool.execute(
        "INSERT INTO events (id, marketplace_id, type, entity_id, sequence, entity, occurred_at) "
        "SELECT 'EV-PACE-' || i, $1, 'account.created', 'CU-PACE-' || i, 1, "
        '\'{"customers": [{"id": "CU-PACE"}], "links": {}}\'::jsonb, $2 '
        "FROM generate_series(1, $3) AS i",
        marketplace.id,
        since + timedelta(minutes=1),
        EVENTS,
    )
    prefix = f"{callback['id']}/"
    queue = redis_asyncio.from_url(pipeline.settings.redis_url)
    # No worker takes jobs meanwhile: the queue shows what was enqueued, in its order.
    await pipeline.stop_worker()
    # Only from here: the setup's own deliveries (the customer, the card, the order) may
    # have left batch jobs queued as the worker stopped; their rows wait in the outbox.
    await queue.delete(pipeline.settings.queue_name)
    try:
        redelivered = await marketplace.api.post(
            f"/callbacks/{callback['id']}/redeliveries",
            {"since": since.isoformat(), "until": (since + timedelta(minutes=2)).isoformat()},
        )
        assert redelivered.status == 202, redelivered.body
        assert redelivered.body["redeliveries"][0]["queued"] == EVENTS
        credit = await flows.created(
            await marketplace.api.post(
                f"/bank_accounts/{funded.bank_account_id}/credits",
                {"amount": 500, "order": funded.order_id},
            ),
            "credits",
        )
        scores = dict(await queue.zrange(pipeline.settings.queue_name, 0, -1, withscores=True))
        # The credit's submission is queued as the batch job due next (ledger/protocol.py).
        submit = next(
            score for job, score in scores.items() if job.startswith(protocol.SUBMIT_BATCH.encode())
        )
        redeliveries = {
            row["id"].encode()
            for row in await pipeline.pool.fetch(
                "SELECT id FROM outbox WHERE starts_with(id, $1) AND args ? 'spread'", prefix
            )
        }
        assert len(redeliveries) == EVENTS
        due_now = await pipeline.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE starts_with(id, $1) AND args ? 'spread' "
            "AND not_before <= now()",
            prefix,
        )
        # The burst, and the few paced ones that fell due since.
        assert REDELIVERY_BURST <= due_now < EVENTS // 2
        # The queue holds batch jobs, not one entry per delivery: the redeliveries due now
        # are a batch job's queued before the credit's submission (the credit's own
        # `credit.created` delivery may have one of a later slot).
        queued = [job for job in scores if job.startswith(protocol.DELIVER_BATCH.encode())]
        assert not any(job in redeliveries for job in scores)
        assert 1 <= len(queued) <= 2, scores
        assert min(scores[job] for job in queued) <= submit
        # The rest wait in the outbox, one due every REDELIVERY_INTERVAL_MS.
        due = await pipeline.pool.fetchrow(
            "SELECT count(DISTINCT not_before) AS moments, max(not_before) - min(not_before) "
            "AS span FROM outbox WHERE starts_with(id, $1) AND args ? 'spread'",
            prefix,
        )
        assert due["moments"] == EVENTS - REDELIVERY_BURST + 1
        assert due["span"] == timedelta(
            milliseconds=(EVENTS - REDELIVERY_BURST) * REDELIVERY_INTERVAL_MS
        )
    finally:
        # The paced rest would trickle out for minutes, into other tests: drop it.
        await pipeline.pool.execute(
            "DELETE FROM outbox WHERE starts_with(id, $1)",
            prefix,
        )
        await queue.aclose()
        await pipeline.start_worker()
    await flows.credit_status(marketplace.api, credit["id"], "succeeded")
