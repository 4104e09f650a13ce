"""Idempotency-Key on POST, Stripe semantics."""

from __future__ import annotations

import asyncio

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
    from api import idempotency

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
