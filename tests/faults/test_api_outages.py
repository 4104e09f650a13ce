"""The API while PostgreSQL or Redis is down: PostgreSQL down is a prompt 503 in the
Balanced error envelope with Retry-After, nothing half-written, and service resumes on
its own when the database returns. While Redis (the job queue) is down, writes get the
same prompt 503 and reads keep working; writes are taken again once Redis is back."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any

from tests.faults.checks import eventually
from tests.faults.system import System
from tests.faults.traffic import Answer, Marketplace, fund_order

# A refusal must be prompt: a client must not hang on a dead database.
REFUSAL_S_MAX = 5.0
RECOVERY_TIMEOUT_S = 30.0


async def _footprint(system: System, marketplace_id: str) -> dict[str, int]:
    """How many rows of each kind a marketplace has: any write shows up here."""
    rows = await system.fetch(
        """SELECT
             (SELECT count(*) FROM transactions WHERE marketplace_id = $1) AS transactions,
             (SELECT count(*) FROM ledger_postings WHERE marketplace_id = $1) AS postings,
             (SELECT count(*) FROM events WHERE marketplace_id = $1) AS events,
             (SELECT count(*) FROM idempotency_keys WHERE marketplace_id = $1) AS keys""",
        marketplace_id,
    )
    return dict(rows[0])


async def _clock(system: System) -> datetime:
    rows = await system.fetch("SELECT clock_timestamp() AS now")
    now: datetime = rows[0]["now"]
    return now


async def _jobs_written_since(system: System, moment: datetime) -> int:
    """Outbox rows written after `moment` (the jobs open before it may finish meanwhile:
    a finished job deletes its row)."""
    rows = await system.fetch("SELECT count(*) AS n FROM outbox WHERE created_at > $1", moment)
    written: int = rows[0]["n"]
    return written


def _assert_unavailable(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.headers["Content-Type"].startswith("application/json")
    [error] = answer.body["errors"]
    assert error["status"] == "Service Unavailable"
    assert (error["status_code"], error["category_code"]) == (503, "service-unavailable")
    assert error["request_id"] and error["request_id"] in error["description"]
    assert set(error) >= {"category_type", "extras", "additional"}


async def test_api_answers_503_with_retry_after_in_the_balanced_envelope_while_postgres_is_down(
    system: System, marketplace: Marketplace
) -> None:
    client = marketplace.client
    await system.stop_postgres()
    for method, path, body in [
        ("GET", f"/marketplaces/{marketplace.id}", None),
        ("GET", "/credits", None),
        ("POST", "/customers", {"name": "Ada"}),
        ("GET", "/healthz", None),
    ]:
        started = time.monotonic()
        answer = await client.once(method, path, body)
        assert time.monotonic() - started < REFUSAL_S_MAX
        _assert_unavailable(answer)


async def test_a_write_refused_while_postgres_is_down_leaves_nothing_behind(
    system: System, marketplace: Marketplace
) -> None:
    funded = await fund_order(marketplace, "Ada Lovelace", 5000)
    before = await _footprint(system, marketplace.id)
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    body: dict[str, Any] = {"amount": 1000, "order": funded.order_id}
    key = str(uuid.uuid4())
    stopped_at = await _clock(system)
    await system.stop_postgres()
    _assert_unavailable(await marketplace.client.once("POST", path, body, idempotency_key=key))
    await system.start_postgres()
    assert await _footprint(system, marketplace.id) == before
    assert await _jobs_written_since(system, stopped_at) == 0
    # The refused request left its Idempotency-Key free: the retry runs, exactly once.
    await marketplace.client.request("POST", path, body, idempotency_key=key)
    replay = await marketplace.client.once("POST", path, body, idempotency_key=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    after = await _footprint(system, marketplace.id)
    assert after["transactions"] == before["transactions"] + 1


async def test_api_serves_again_by_itself_when_postgres_returns(
    system: System, marketplace: Marketplace
) -> None:
    api_pid = system.api.pid
    await system.stop_postgres()
    _assert_unavailable(await marketplace.client.once("GET", f"/marketplaces/{marketplace.id}"))
    await system.start_postgres()

    async def serving() -> bool:
        answer = await marketplace.client.once("GET", f"/marketplaces/{marketplace.id}")
        return answer.status == 200

    await eventually(serving, RECOVERY_TIMEOUT_S, "the API answers 200 again")
    funded = await fund_order(marketplace, "Grace Hopper", 700)
    assert funded.debit_id
    assert system.api.pid == api_pid and system.api.running  # Recovered, not restarted.


async def test_writes_get_503_while_redis_is_down_and_are_taken_again_after(
    system: System, marketplace: Marketplace
) -> None:
    funded = await fund_order(marketplace, "Ada Lovelace", 3000)
    await system.stop_valkey()
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    body = {"amount": 1, "order": funded.order_id}

    async def refused() -> bool:
        # The API notices within half a second; a write in that moment is taken (its job
        # waits in the outbox), so the check starts from the first refusal.
        answer = await marketplace.client.once("GET", "/healthz")
        probe = await marketplace.client.once("PUT", f"/orders/{funded.order_id}", {})
        return answer.status == 200 and probe.status == 503

    await eventually(refused, RECOVERY_TIMEOUT_S, "writes are refused while Redis is down")
    before = await _footprint(system, marketplace.id)
    answer = await marketplace.client.once("POST", path, body, idempotency_key="k1")
    _assert_unavailable(answer)
    read = await marketplace.client.once("GET", f"/orders/{funded.order_id}")
    assert read.status == 200, read
    # Its job, if it had one, would wait in the outbox: the footprint leaves jobs out.
    assert await _footprint(system, marketplace.id) == before
    await system.start_valkey()

    async def taken() -> bool:
        answer = await marketplace.client.once("POST", path, body, idempotency_key="k1")
        return answer.status == 201

    await eventually(taken, RECOVERY_TIMEOUT_S, "writes are taken once Redis is back")
    [credit] = (await marketplace.client.once("GET", f"/orders/{funded.order_id}/credits")).body[
        "credits"
    ]

    async def succeeded() -> bool:
        answer = await marketplace.client.once("GET", f"/credits/{credit['id']}")
        return bool(answer.body["credits"][0]["status"] == "succeeded")

    await eventually(succeeded, RECOVERY_TIMEOUT_S, "the credit succeeds once Redis is back")
    system.assert_running()
