"""Idempotency-Key on POST, Stripe semantics."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import pytest

from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, Response, eventually


async def _credits_of(pipeline: Pipeline, order_id: str) -> int:
    count: int = await pipeline.pool.fetchval(
        "SELECT count(*) FROM transactions WHERE order_id = $1 AND kind = 'credit'", order_id
    )
    return count


async def test_same_key_and_body_replays_the_first_response(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1000)
    path, body = (
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 300, "order": funded.order_id},
    )
    headers = {"Idempotency-Key": "pay-merchant-1"}
    first = await api.post(path, body, headers=headers)
    second = await api.post(path, body, headers=headers)
    assert first.status == second.status == 201
    assert second.body == first.body
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await _credits_of(pipeline, funded.order_id) == 1
    assert await flows.escrowed(api, funded.order_id) == 700


async def test_same_key_with_another_body_is_refused(marketplace: Marketplace) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1000)
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    headers = {"Idempotency-Key": "pay-merchant-2"}
    assert (
        await api.post(path, {"amount": 1, "order": funded.order_id}, headers=headers)
    ).status == 201
    other = await api.post(path, {"amount": 2, "order": funded.order_id}, headers=headers)
    assert other.status == 422
    assert other.body["errors"][0]["category_code"] == "idempotency-key-reused"


async def test_concurrent_duplicates_never_both_act(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 1000)
    path, body = (
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 10, "order": funded.order_id},
    )
    headers = {"Idempotency-Key": "pay-merchant-3"}
    responses = await asyncio.gather(*(api.post(path, body, headers=headers) for _ in range(20)))
    created = {r.body["credits"][0]["id"] for r in responses if r.status == 201}
    assert len(created) == 1
    assert all(r.status in (201, 409) for r in responses)
    assert await _credits_of(pipeline, funded.order_id) == 1


async def test_a_refused_request_that_committed_nothing_may_be_retried(
    marketplace: Marketplace,
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 100)
    headers = {"Idempotency-Key": "refund-1"}
    path = f"/debits/{funded.debit_id}/refunds"
    assert (await api.post(path, {"amount": 101}, headers=headers)).status == 400
    assert (await api.post(path, {"amount": 100}, headers=headers)).status == 201


async def test_a_committed_request_whose_response_could_not_be_kept_still_answers_and_replays(
    pipeline: Pipeline, marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL went away between the request's commit and the keeping of its response:
    the client still gets the real answer (not a 5xx for writes that were made), and the
    response is kept once the database answers again, so a retry replays it instead of
    being told 409 for good."""
    from ledger import idempotency

    api = marketplace.api
    funded = await flows.funded_order(api, 1000)
    store_response = idempotency.Q["store_response"]
    execute = asyncpg.Pool.execute
    failures_left = 1

    async def execute_while_postgres_blips(
        self: asyncpg.Pool, query: str, *args: object, **kwargs: object
    ) -> str:
        nonlocal failures_left
        if query == store_response and failures_left:
            failures_left -= 1
            raise asyncpg.ConnectionDoesNotExistError("simulated: the database restarted")
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Pool, "execute", execute_while_postgres_blips)
    path, body = (
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 300, "order": funded.order_id},
    )
    headers = {"Idempotency-Key": "pay-merchant-blip"}
    first = await api.post(path, body, headers=headers)
    assert first.status == 201, first.body
    assert failures_left == 0

    async def replayed() -> Response | None:
        again = await api.post(path, body, headers=headers)
        return again if again.headers.get("Idempotent-Replayed") == "true" else None

    again = await eventually(replayed)
    assert (again.status, again.body) == (201, first.body)
    assert await _credits_of(pipeline, funded.order_id) == 1


# A request's fingerprint, as the API computes it: method, path and the exact body bytes.
def _fingerprint(path: str, body: bytes) -> bytes:
    return hashlib.sha256(b"POST " + path.encode() + b"\n" + body).digest()


async def _abandon_key(
    pipeline: Pipeline, marketplace_id: str, key: str, path: str, body: bytes
) -> None:
    """The key as a request leaves it when its process is killed after claiming it: in
    progress, no transaction of its holder open, silent for longer than the take-over
    period."""
    await pipeline.pool.execute(
        "INSERT INTO idempotency_keys (marketplace_id, key, request_sha256, created_at,"
        " updated_at) VALUES ($1, $2, $3, now() - interval '2 minutes',"
        " now() - interval '2 minutes')",
        marketplace_id,
        key,
        _fingerprint(path, body),
    )


async def _orders_of(pipeline: Pipeline, customer_id: str) -> list[str]:
    rows = await pipeline.pool.fetch(
        "SELECT description FROM orders WHERE merchant_customer_id = $1 ORDER BY created_at",
        customer_id,
    )
    return [row["description"] for row in rows]


JSON = {"Content-Type": "application/json"}


async def test_an_abandoned_key_is_not_taken_over_by_another_request(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    path = f"/customers/{marketplace.owner_customer_id}/orders"
    original, other = b'{"description": "original"}', b'{"description": "other"}'
    await _abandon_key(pipeline, marketplace.id, "order-abandoned-1", path, original)
    headers = {"Idempotency-Key": "order-abandoned-1", **JSON}
    refused = await marketplace.api.request("POST", path, data=other, headers=headers)
    assert refused.status == 422, refused.body
    assert refused.body["errors"][0]["category_code"] == "idempotency-key-reused"
    assert await _orders_of(pipeline, marketplace.owner_customer_id) == []


async def test_the_original_request_retried_on_an_abandoned_key_gets_its_own_response(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    path = f"/customers/{marketplace.owner_customer_id}/orders"
    original, other = b'{"description": "original"}', b'{"description": "other"}'
    await _abandon_key(pipeline, marketplace.id, "order-abandoned-2", path, original)
    headers = {"Idempotency-Key": "order-abandoned-2", **JSON}
    api = marketplace.api
    assert (await api.request("POST", path, data=other, headers=headers)).status == 422
    retried = await api.request("POST", path, data=original, headers=headers)
    assert retried.status == 201, retried.body
    assert retried.body["orders"][0]["description"] == "original"
    again = await api.request("POST", path, data=original, headers=headers)
    assert (again.status, again.body) == (201, retried.body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await _orders_of(pipeline, marketplace.owner_customer_id) == ["original"]


async def _lock_waits(connection: asyncpg.Connection) -> int:
    """Backends of this database waiting for a lock."""
    waiting: int = await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return waiting


async def test_a_slow_request_is_not_run_again_by_its_retry_after_the_take_over_period(
    pipeline: Pipeline, marketplace: Marketplace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request is alive but slow: its transaction waits on a row lock the test
    holds, well past the take-over period (shortened here from 60 s). Its retry must be
    told the request is in progress, not run it a second time."""
    from api import idempotency

    monkeypatch.setattr(idempotency, "ABANDONED_AFTER_S", 0.2)
    api, customer_id = marketplace.api, marketplace.owner_customer_id
    path, body = f"/customers/{customer_id}/orders", {"description": "slow"}
    headers = {"Idempotency-Key": "order-slow-1"}
    blocker = await asyncpg.connect(pipeline.settings.database_url)
    try:
        blocking = blocker.transaction()
        await blocking.start()
        # An order's foreign key share-locks its customer: the insert waits behind this.
        await blocker.execute("SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", customer_id)
        first = asyncio.create_task(api.post(path, body, headers=headers))

        async def first_is_waiting() -> bool:
            return await _lock_waits(blocker) > 0

        await eventually(first_is_waiting)
        await asyncio.sleep(0.5)  # Well past the take-over period.
        retry = asyncio.create_task(api.post(path, body, headers=headers))
        await asyncio.wait({retry}, timeout=5)
        await blocking.rollback()
        retried, answered = await retry, await first
    finally:
        await blocker.close()
    assert answered.status == 201, answered.body
    assert retried.status == 409, retried.body
    assert retried.body["errors"][0]["category_code"] == "idempotency-key-in-use"
    assert retried.headers["Retry-After"] == "1"
    replayed = await api.post(path, body, headers=headers)
    assert (replayed.status, replayed.body) == (201, answered.body)
    assert await _orders_of(pipeline, customer_id) == ["slow"]


async def test_a_holder_whose_key_was_taken_over_can_no_longer_commit(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """A holder that stalled before its transaction for longer than the take-over period
    lost its key to a retry; when it wakes up, its transaction is refused (fencing), so
    the request still commits once."""
    from api import idempotency
    from ledger.errors import BalancedError

    path, body = f"/customers/{marketplace.owner_customer_id}/orders", b'{"description": "x"}'
    key = "order-fenced-1"
    await _abandon_key(pipeline, marketplace.id, key, path, body)
    stalled_token = await pipeline.pool.fetchval(
        "SELECT updated_at FROM idempotency_keys WHERE marketplace_id = $1 AND key = $2",
        marketplace.id,
        key,
    )
    headers = {"Idempotency-Key": key, **JSON}
    retried = await marketplace.api.request("POST", path, data=body, headers=headers)
    assert retried.status == 201, retried.body
    stalled = idempotency.Claim(marketplace.id, key, stalled_token)
    async with pipeline.pool.acquire() as connection, connection.transaction():
        with pytest.raises(BalancedError) as refused:
            await idempotency.hold(connection, stalled)
    assert (refused.value.status_code, refused.value.category_code) == (
        409,
        "idempotency-key-in-use",
    )
    assert await _orders_of(pipeline, marketplace.owner_customer_id) == ["x"]
