"""`ballast audit`: exit 0 on a clean ledger, 1 with the violation named otherwise."""

from __future__ import annotations

import asyncio

import pytest

from ballast import cli
from ledger import audit
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Api, Pipeline, eventually


async def test_audit_is_clean_after_real_traffic(
    pipeline: Pipeline,
    marketplace: Marketplace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await flows.funded_order(marketplace.api, 700)
    monkeypatch.setenv("DATABASE_URL", pipeline.settings.database_url)
    assert await asyncio.to_thread(cli.main, ["audit"]) == 0
    assert "audit: clean" in capsys.readouterr().out


async def test_audit_names_a_balance_that_drifted_from_its_lines(
    pipeline: Pipeline,
    marketplace: Marketplace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    funded = await flows.funded_order(marketplace.api, 700)
    drift = "UPDATE ledger_accounts SET balance_cents = balance_cents + $2 WHERE id = $1"
    await pipeline.pool.execute(drift, funded.order_id, 1)
    try:
        monkeypatch.setenv("DATABASE_URL", pipeline.settings.database_url)
        assert await asyncio.to_thread(cli.main, ["audit"]) == 1
        assert funded.order_id in capsys.readouterr().err
    finally:
        await pipeline.pool.execute(drift, funded.order_id, -1)


# What the late-return code did before money was counted once: the returned credit's whole
# amount back into the escrow, whatever its reversals had pulled back already.
OLD_FULL_RESTORE = """
    WITH failed AS (
        UPDATE transactions SET status = 'failed', failure_reason_code = 'R01',
               failure_reason = 'Insufficient funds', failed_at = clock_timestamp()
        WHERE id = $1 RETURNING marketplace_id, order_id, amount_cents)
    SELECT ledger_post(marketplace_id, $1, 'credit.failed',
                       ARRAY[marketplace_id || ':ach_settled', order_id],
                       ARRAY[-amount_cents, amount_cents])
    FROM failed"""
OLD_LATE_REVERSAL = """
    WITH succeeded AS (
        UPDATE transactions SET status = 'succeeded', succeeded_at = clock_timestamp()
        WHERE id = $1 RETURNING marketplace_id, order_id, amount_cents)
    SELECT ledger_post(marketplace_id, $1, 'reversal.succeeded',
                       ARRAY[marketplace_id || ':ach_settled', order_id],
                       ARRAY[-amount_cents, amount_cents])
    FROM succeeded"""


async def _paid_credit_with_reversal(
    pipeline: Pipeline, api: Api, settle_reversal: bool
) -> tuple[str, str]:
    funded = await flows.funded_order(api, 10_000, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.credit_order(api, funded, 10_000)
    await flows.simulate(pipeline, credit["id"], "settle")
    await flows.credit_status(api, credit["id"], "succeeded")
    reversal = await flows.created(
        await api.post(f"/credits/{credit['id']}/reversals"), "reversals"
    )
    if settle_reversal:
        await flows.simulate(pipeline, reversal["id"], "settle")
        await flows.status(api, reversal["href"], "succeeded")
    else:
        await eventually(lambda: _submitted(pipeline, reversal["id"]))
    return credit["id"], reversal["id"]


async def _submitted(pipeline: Pipeline, transfer_id: str) -> bool:
    query = "SELECT submitted_at IS NOT NULL FROM transactions WHERE id = $1"
    return bool(await pipeline.pool.fetchval(query, transfer_id))


async def _audit_after(pipeline: Pipeline, *statements: tuple[str, str]) -> list[str]:
    """The audit's findings once `statements` have run, in a transaction rolled back after
    it, so that the shared test database stays clean."""
    async with pipeline.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            for sql, transfer_id in statements:
                await connection.execute(sql, transfer_id)
            return await audit.violations(connection)
        finally:
            await transaction.rollback()


async def test_audit_catches_a_returned_credit_restored_after_its_reversal(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """Defect 1 recreated (reversal succeeded, then the return restored everything); the
    state is rolled back so that the shared database stays clean."""
    credit_id, _ = await _paid_credit_with_reversal(pipeline, marketplace.api, True)
    found = await _audit_after(pipeline, (OLD_FULL_RESTORE, credit_id))
    assert any(line.startswith("money counted twice") and credit_id in line for line in found)
    assert any(line.startswith("transfer differs from its history") for line in found)


async def test_audit_catches_a_reversal_that_succeeded_after_its_credit_was_returned(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """The review's sequence recreated: reversal pending, credit returned with a full
    restore, then the reversal succeeding into the escrow too."""
    credit_id, reversal_id = await _paid_credit_with_reversal(pipeline, marketplace.api, False)
    found = await _audit_after(
        pipeline, (OLD_FULL_RESTORE, credit_id), (OLD_LATE_REVERSAL, reversal_id)
    )
    assert any(line.startswith("money counted twice") and credit_id in line for line in found)
