"""Security: keys stored as hashes and revocable, one marketplace never reaches another's
resources, no secret or card number in the database or the logs, a rate limit per key."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestServer

from api.app import create_app
from api.keycache import KEY_TTL_S
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Api, Pipeline


async def test_keys_are_listed_without_secrets_and_can_be_revoked(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    extra = await marketplace.api.post("/api_keys")
    assert extra.status == 201
    extra_key = extra.body["api_keys"][0]
    listed = (await marketplace.api.get("/api_keys")).body["api_keys"]
    assert {k["id"] for k in listed} >= {extra_key["id"]}
    assert all("secret" not in k for k in listed)
    revoked = await marketplace.api.delete(f"/api_keys/{extra_key['id']}")
    assert revoked.status == 204
    locked_out = await pipeline.api.as_key(extra_key["secret"]).get("/marketplaces")
    assert locked_out.status == 401
    assert (await marketplace.api.get("/marketplaces")).status == 200


async def test_a_key_in_use_is_refused_at_once_after_its_revocation(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """The key was just used, so this API process has it cached: revoking forgets it."""
    extra_key = (await marketplace.api.post("/api_keys")).body["api_keys"][0]
    extra = pipeline.api.as_key(extra_key["secret"])
    assert (await extra.get("/marketplaces")).status == 200
    assert (await marketplace.api.delete(f"/api_keys/{extra_key['id']}")).status == 204
    assert (await extra.get("/marketplaces")).status == 401


async def test_a_key_revoked_through_another_api_process_is_refused_within_the_ttl(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    extra_key = (await marketplace.api.post("/api_keys")).body["api_keys"][0]
    extra = pipeline.api.as_key(extra_key["secret"])
    assert (await extra.get("/marketplaces")).status == 200
    other = TestServer(create_app(pipeline.settings), host="127.0.0.1")
    await other.start_server()
    try:
        other_api = Api(pipeline.http, str(other.make_url("")).rstrip("/"), marketplace.secret)
        assert (await other_api.delete(f"/api_keys/{extra_key['id']}")).status == 204
    finally:
        await other.close()
    await asyncio.sleep(KEY_TTL_S)
    assert (await extra.get("/marketplaces")).status == 401


async def test_key_secrets_are_stored_only_as_hashes(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    rows = await pipeline.pool.fetch(
        "SELECT * FROM api_keys WHERE marketplace_id = $1", marketplace.id
    )
    assert rows
    for row in rows:
        assert all(marketplace.secret not in str(value) for value in row.values())


async def test_card_numbers_are_kept_only_as_last_four_and_fingerprint(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    number = "5105105105105100"
    card = await flows.created(
        await marketplace.api.post(
            "/cards", {"number": number, "expiration_month": 1, "expiration_year": 2031}
        ),
        "cards",
    )
    assert card["number"] == "x" * 12 + "5100"
    row = await pipeline.pool.fetchrow("SELECT * FROM cards WHERE id = $1", card["id"])
    assert all(number not in str(value) for value in row.values())


async def test_no_secret_or_card_number_reaches_the_logs(
    pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    number = "4111111111111111"
    with caplog.at_level(logging.DEBUG):
        key = (await pipeline.api.post("/api_keys")).body["api_keys"][0]["secret"]
        api = pipeline.api.as_key(key)
        await api.post("/marketplaces", {})
        card = await api.post(
            "/cards", {"number": number, "expiration_month": 1, "expiration_year": 2031}
        )
        await api.post(f"/cards/{card.body['cards'][0]['id']}/debits", {"amount": 100})
        await api.post(
            "/cards", {"number": "4111111111111112", "expiration_month": 1, "expiration_year": 2031}
        )
    assert key not in caplog.text
    assert number not in caplog.text


async def test_another_marketplaces_resources_are_not_found_by_id_or_href(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    theirs = marketplace.api
    funded = await flows.funded_order(theirs, 5000)
    credit = await flows.created(
        await theirs.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 1000, "order": funded.order_id},
        ),
        "credits",
    )
    account = (await theirs.get(f"/customers/{funded.merchant_id}/accounts")).body["accounts"][0][
        "id"
    ]
    key = (await pipeline.api.post("/api_keys")).body["api_keys"][0]["secret"]
    ours = pipeline.api.as_key(key)
    assert (await ours.post("/marketplaces", {})).status == 201
    _, our_bank = await flows.merchant_with_bank_account(ours)
    reads = [
        f"/orders/{funded.order_id}",
        f"/credits/{credit['id']}",
        f"/debits/{funded.debit_id}",
        f"/customers/{funded.merchant_id}",
        f"/bank_accounts/{funded.bank_account_id}",
        f"/accounts/{account}",
        f"/orders/{funded.order_id}/credits",
        f"/debits/{funded.debit_id}/refunds",
        f"/resources/{credit['id']}",
        f"/credits/{credit['id']}/events",
    ]
    for path in reads:
        response = await ours.get(path)
        assert response.status == 404, (path, response.body)
    writes = [
        (f"/bank_accounts/{funded.bank_account_id}/credits", {"amount": 1}),
        (
            f"/bank_accounts/{our_bank}/credits",
            {"amount": 1, "order": f"/orders/{funded.order_id}"},
        ),
        (f"/debits/{funded.debit_id}/refunds", {"amount": 1}),
        (f"/credits/{credit['id']}/reversals", {"amount": 1}),
        (f"/accounts/{account}/settlements", {"funding_instrument": funded.bank_account_id}),
        (f"/accounts/{account}/credits", {"amount": 1}),
    ]
    for path, body in writes:
        response = await ours.post(path, body)
        assert response.status == 404, (path, response.body)
        assert response.body["errors"][0]["category_code"] == "not-found"
    assert await flows.escrowed(theirs, funded.order_id) == 4000


async def test_requests_beyond_the_rate_limit_get_429_with_retry_after(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    limited = pipeline.settings.model_copy(update={"rate_limit_requests_per_s": 5})
    server = TestServer(create_app(limited), host="127.0.0.1")
    await server.start_server()
    try:
        api = Api(pipeline.http, str(server.make_url("")).rstrip("/"), marketplace.secret)
        responses = await asyncio.gather(*(api.get("/marketplaces") for _ in range(20)))
    finally:
        await server.close()
    refused = [r for r in responses if r.status == 429]
    assert refused and all(r.status in (200, 429) for r in responses)
    assert refused[0].headers["Retry-After"] == "1"
    assert refused[0].body["errors"][0]["category_code"] == "rate-limit-exceeded"
