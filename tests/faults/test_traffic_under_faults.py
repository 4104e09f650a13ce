"""A run of transfers (credits to bank accounts and payable accounts, settlements,
refunds, reversals) with their callbacks, while workers are SIGKILLed, Redis is flushed and
restarted empty, and PostgreSQL is restarted. The large version is `bench/faults.py`."""

from __future__ import annotations

from tests.faults import scenario
from tests.faults.system import System

# A few hundred transfers (8 per unit), about 200 of them through the rail, and six faults.
CI_PLAN = scenario.Plan(units=40, concurrency=8, kills=3, settle_timeout_s=60.0)


async def test_transfers_survive_worker_kills_redis_loss_and_a_postgres_restart(
    system: System,
) -> None:
    report = await scenario.run(system, CI_PLAN)
    verdict = report.verdict
    assert verdict.problems() == []
    assert (verdict.lost, verdict.duplicated, verdict.audit) == (0, 0, [])
    assert sum(verdict.transfers.values()) >= 300
    assert verdict.rail_entries == verdict.rail_transfers > 150
    assert [fault.name for fault in report.faults] == CI_PLAN.faults()
    system.assert_running()  # No process died of a fault it should have survived.
