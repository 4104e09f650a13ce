"""Reconciliation: a decision whose push never arrived is still applied, and an entry the
rail forgot is submitted again."""

from __future__ import annotations

import aiohttp
import redis.asyncio as redis_asyncio
from aiohttp.test_utils import TestServer
from arq import create_pool
from arq.connections import RedisSettings

from rails.app import create_app as create_rail_app
from rails.client import HttpRailClient
from rails.config import RailConfig
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually
from workers.reconcile import reconcile


async def _pending_credit(pipeline: Pipeline, marketplace: Marketplace) -> str:
    funded = await flows.funded_order(marketplace.api, 700, flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.created(
        await marketplace.api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 700, "order": funded.order_id},
        ),
        "credits",
    )

    async def submitted() -> bool:
        return bool(
            await pipeline.pool.fetchval(
                "SELECT submitted_at IS NOT NULL FROM transactions WHERE id = $1", credit["id"]
            )
        )

    await eventually(submitted)
    credit_id: str = credit["id"]
    return credit_id


async def _reconcile(pipeline: Pipeline, rail_url: str) -> int:
    redis = await create_pool(RedisSettings.from_dsn(pipeline.settings.redis_url))
    async with aiohttp.ClientSession() as session:
        try:
            return await reconcile(
                pipeline.pool,
                redis,
                HttpRailClient(rail_url, session),
                pipeline.settings.queue_name,
                after_ms=0,
            )
        finally:
            await redis.aclose()


async def test_a_decision_whose_push_was_lost_is_applied(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    credit_id = await _pending_credit(pipeline, marketplace)
    await pipeline.stop_worker()
    try:
        async with pipeline.http.post(
            f"{pipeline.rail_url}/simulations/entries/{credit_id}/settle"
        ) as response:
            assert response.status == 200
        # The push reached the API; now lose it, as a long API outage would have.
        await eventually(
            lambda: pipeline.pool.fetchval(
                "SELECT count(*) FROM outbox WHERE job = 'apply_outcome' "
                "AND args->'entry'->>'id' = $1",
                credit_id,
            )
        )
        await pipeline.pool.execute(
            "DELETE FROM outbox WHERE job = 'apply_outcome' AND args->'entry'->>'id' = $1",
            credit_id,
        )
        client = redis_asyncio.from_url(pipeline.settings.redis_url)
        await client.flushdb()
        await client.aclose()

        async def recovered() -> bool:
            # Each pass asks about a bounded batch (other tests' transfers too): repeat
            # until ours has been asked about and its outcome is queued again.
            await _reconcile(pipeline, pipeline.rail_url)
            return bool(
                await pipeline.pool.fetchval(
                    "SELECT count(*) FROM outbox WHERE job = 'apply_outcome' "
                    "AND args->'entry'->>'id' = $1",
                    credit_id,
                )
            )

        await eventually(recovered)
    finally:
        await pipeline.start_worker()
    await flows.credit_status(marketplace.api, credit_id, "succeeded")


async def test_an_entry_the_rail_forgot_is_submitted_again(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    credit_id = await _pending_credit(pipeline, marketplace)
    trace = await pipeline.pool.fetchval(
        "SELECT rail_trace_number FROM transactions WHERE id = $1", credit_id
    )
    amnesiac = TestServer(
        create_rail_app(RailConfig(secret=pipeline.rail_secret, day_ms=0)), host="127.0.0.1"
    )
    await amnesiac.start_server()
    try:

        async def forgotten() -> bool:
            await _reconcile(pipeline, str(amnesiac.make_url("")).rstrip("/"))
            return bool(
                await pipeline.pool.fetchval(
                    "SELECT rail_checked_at IS NOT NULL FROM transactions WHERE id = $1", credit_id
                )
            )

        await eventually(forgotten)
    finally:
        await amnesiac.close()

    async def resubmitted() -> bool:
        row = await pipeline.pool.fetchrow(
            "SELECT submitted_at, rail_trace_number FROM transactions WHERE id = $1", credit_id
        )
        return row["submitted_at"] is not None and row["rail_trace_number"] == trace

    await eventually(resubmitted)
