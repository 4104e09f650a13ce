"""POST /api_keys without credentials is bounded per client address (429 + Retry-After),
while the Balanced bootstrap flow keeps working."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from api import ratelimit
from api.app import create_app
from config import Settings
from tests.support.pipeline import Api, Pipeline

PRODUCTION_PER_MIN: int = Settings.model_fields["rate_limit_new_api_keys_per_min"].default
# Beyond the burst: enough that the refill during the test cannot let them all through.
EXTRA_ATTEMPTS = 10
# Linux answers on the whole 127.0.0.0/8: a second client address on the same machine.
OTHER_LOOPBACK = "127.0.0.2"


@pytest.fixture
async def production_api(pipeline: Pipeline) -> AsyncIterator[str]:
    """An API of its own with the production bound (the suite's API raises it)."""
    settings = pipeline.settings.model_copy(
        update={"rate_limit_new_api_keys_per_min": PRODUCTION_PER_MIN}
    )
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_first_api_keys_are_bounded_per_client_address(
    pipeline: Pipeline, production_api: str
) -> None:
    anonymous = Api(pipeline.http, production_api)
    responses = await asyncio.gather(
        *(anonymous.post("/api_keys") for _ in range(PRODUCTION_PER_MIN + EXTRA_ATTEMPTS))
    )
    created = [r for r in responses if r.status == 201]
    refused = [r for r in responses if r.status != 201]
    assert len(created) == PRODUCTION_PER_MIN, [r.status for r in responses]
    assert refused and all(r.status == 429 for r in refused)
    error = refused[0].body["errors"][0]
    assert (error["status"], error["status_code"]) == ("Too Many Requests", 429)
    assert (error["category_code"], error["category_type"]) == ("rate-limit-exceeded", "request")
    assert error["request_id"] and "Your request id is" in error["description"]
    # One key comes back every 60 / PRODUCTION_PER_MIN seconds.
    assert 1 <= int(refused[0].headers["Retry-After"]) <= 60 / PRODUCTION_PER_MIN

    # The bootstrap flow goes on with a key it got: its marketplace, then more keys of it,
    # which its own credentials bound instead of the address.
    owner = anonymous.as_key(created[0].body["api_keys"][0]["secret"])
    assert (await owner.post("/marketplaces", {})).status == 201
    assert (await owner.post("/api_keys")).status == 201
    # Another client address has a bucket of its own.
    connector = aiohttp.TCPConnector(local_addr=(OTHER_LOOPBACK, 0))
    async with aiohttp.ClientSession(connector=connector) as other_session:
        elsewhere = await Api(other_session, production_api).post("/api_keys")
    assert elsewhere.status == 201, elsewhere.body


def test_an_address_bucket_refills_at_its_rate() -> None:
    buckets: dict[str, tuple[float, float]] = {}
    assert [ratelimit.take(buckets, "192.0.2.1", 20, 0.0) for _ in range(20)] == [0.0] * 20
    assert ratelimit.take(buckets, "192.0.2.1", 20, 0.0) == pytest.approx(3.0)
    assert ratelimit.take(buckets, "192.0.2.1", 20, 1.5) == pytest.approx(1.5)
    assert ratelimit.take(buckets, "192.0.2.1", 20, 3.0) == 0.0
    assert ratelimit.take(buckets, "192.0.2.2", 20, 3.0) == 0.0
