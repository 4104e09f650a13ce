"""`ballast audit`: exit 0 on a clean ledger, 1 with the violation named otherwise."""

from __future__ import annotations

import asyncio

import pytest

from ballast import cli
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline


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
