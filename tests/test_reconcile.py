"""Reconciliation: a decision whose push never arrived is still applied; an entry a rail
proves it never received is submitted again, its job written afresh; an
entry a rail merely forgot (a restart without a journal) is never submitted again, since
the forgotten entry may have been paid already."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as redis_asyncio
from aiohttp.test_utils import TestServer
from arq import create_pool
from arq.connections import RedisSettings

from ledger import protocol
from rails.app import JOURNAL_NAME
from rails.app import create_app as create_rail_app
from rails.client import HttpRailClient
from rails.config import RailConfig
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually
from workers import sweeper
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
        await _settle(pipeline, credit_id)
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


async def _rail(pipeline: Pipeline, config: RailConfig) -> TestServer:
    server = TestServer(create_rail_app(config), host="127.0.0.1")
    await server.start_server()
    return server


async def _reconcile_until_checked(pipeline: Pipeline, server: TestServer, credit_id: str) -> None:
    """Reconcile against `server` until the pass has asked it about `credit_id` (each pass
    takes a bounded batch, other tests' transfers too)."""
    await pipeline.pool.execute(
        "UPDATE transactions SET rail_checked_at = NULL WHERE id = $1", credit_id
    )

    async def checked() -> bool:
        await _reconcile(pipeline, str(server.make_url("")).rstrip("/"))
        return bool(
            await pipeline.pool.fetchval(
                "SELECT rail_checked_at IS NOT NULL FROM transactions WHERE id = $1", credit_id
            )
        )

    await eventually(checked)


async def test_an_entry_a_rail_without_a_journal_forgot_is_not_submitted_again(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """A restarted rail without a journal cannot tell "never received" from "forgotten
    after it was paid": submitting again could pay twice, so the transfer waits for an
    operator, its submission and trace number kept."""
    credit_id = await _pending_credit(pipeline, marketplace)
    before = await pipeline.pool.fetchrow(
        "SELECT submitted_at, rail_trace_number FROM transactions WHERE id = $1", credit_id
    )
    amnesiac = await _rail(
        pipeline, RailConfig(secret=pipeline.rail_secret, day_ms=0, open_control=True)
    )
    try:
        await _reconcile_until_checked(pipeline, amnesiac, credit_id)
    finally:
        await amnesiac.close()
    after = await pipeline.pool.fetchrow(
        "SELECT status, submitted_at, rail_trace_number FROM transactions WHERE id = $1",
        credit_id,
    )
    assert (after["status"], after["submitted_at"], after["rail_trace_number"]) == (
        "pending",
        before["submitted_at"],
        before["rail_trace_number"],
    )
    assert await flows.job_done(pipeline, protocol.submit_job_id(credit_id))
    await _settle(pipeline, credit_id)
    await flows.credit_status(marketplace.api, credit_id, "succeeded")


async def _settle(pipeline: Pipeline, credit_id: str) -> None:
    await flows.rail_simulation(pipeline, credit_id, "settle", {})


def _journal_begun(directory: Path, ago: timedelta) -> None:
    """A rail data directory whose journal has covered every submission for `ago`."""
    since = datetime.now(UTC) - ago
    (directory / JOURNAL_NAME).write_text(
        json.dumps({"journal": 1, "since": since.isoformat()}) + "\n"
    )


async def test_a_submitted_transfer_finishes_when_the_rail_never_received_it(
    pipeline: Pipeline, marketplace: Marketplace, tmp_path: Path
) -> None:
    """The transfer's submit job finished (its row is gone); then a rail whose journal
    covers its whole life says it never received the entry. Reconciliation must write the
    job afresh, and the transfer finishes."""
    credit_id = await _pending_credit(pipeline, marketplace)
    trace = await pipeline.pool.fetchval(
        "SELECT rail_trace_number FROM transactions WHERE id = $1", credit_id
    )
    assert (
        await pipeline.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE id = $1", protocol.submit_job_id(credit_id)
        )
        == 0
    )
    _journal_begun(tmp_path, timedelta(hours=1))
    journaled = await _rail(
        pipeline,
        RailConfig(
            secret=pipeline.rail_secret, day_ms=0, open_control=True, nacha_dir=str(tmp_path)
        ),
    )
    try:
        await _reconcile_until_checked(pipeline, journaled, credit_id)
    finally:
        await journaled.close()

    async def resubmitted() -> bool:
        row = await pipeline.pool.fetchrow(
            "SELECT submitted_at, rail_trace_number FROM transactions WHERE id = $1", credit_id
        )
        # Submitted again to the pipeline's rail, which still holds it: the same entry.
        return row["submitted_at"] is not None and row["rail_trace_number"] == trace

    await eventually(resubmitted)
    await _settle(pipeline, credit_id)
    await flows.credit_status(marketplace.api, credit_id, "succeeded")


async def test_a_pending_transfer_whose_submit_job_vanished_is_given_one_by_the_sweeper(
    pipeline: Pipeline, marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job row of a transfer not yet submitted disappears (deleted by hand):
    no job, no submission, so neither the outbox sweep nor reconciliation would ever see it.
    The sweeper's scan of pending transfers gives it its job back."""
    monkeypatch.setattr(sweeper, "JOBLESS_SCAN_INTERVAL_S", 0)
    funded = await flows.funded_order(marketplace.api, 500)
    await pipeline.stop_worker()
    try:
        credit = await flows.created(
            await marketplace.api.post(
                f"/bank_accounts/{funded.bank_account_id}/credits",
                {"amount": 500, "order": funded.order_id},
            ),
            "credits",
        )
        deleted = await pipeline.pool.execute(
            "DELETE FROM outbox WHERE id = $1", protocol.submit_job_id(credit["id"])
        )
        assert deleted == "DELETE 1"
    finally:
        await pipeline.start_worker()
    await flows.credit_status(marketplace.api, credit["id"], "succeeded")
