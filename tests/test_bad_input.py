"""Bad input gets Balanced's error envelope with the right status and category_code; never
a 500, never a partial write (the marketplace fixture audits the ledger afterwards)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Marketplace
from tests.support import flows, schemas
from tests.support.pipeline import Pipeline


async def _transfer_count(pipeline: Pipeline, marketplace: Marketplace) -> int:
    count: int = await pipeline.pool.fetchval(
        "SELECT count(*) FROM transactions WHERE marketplace_id = $1", marketplace.id
    )
    return count


def _error(response: Any, status: int, category_code: str) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    error: dict[str, Any] = response.body["errors"][0]
    assert error["category_code"] == category_code
    assert error["status_code"] == status
    assert error["description"].endswith(f"Your request id is {error['request_id']}.")
    return error


@pytest.mark.parametrize(
    "amount",
    [None, 0, -1, 1.5, 100.0, "abc", "12.50", 10**13, True, "1e3", [100], {"cents": 1}],
    ids=[
        "missing",
        "zero",
        "negative",
        "fraction",
        "float",
        "garbage",
        "decimal-string",
        "huge",
        "boolean",
        "exponent",
        "list",
        "object",
    ],
)
async def test_bad_amount_is_refused_with_request_error_and_moves_nothing(
    pipeline: Pipeline, marketplace: Marketplace, amount: Any
) -> None:
    funded = await flows.funded_order(marketplace.api, 500)
    before = await _transfer_count(pipeline, marketplace)
    body = {"order": funded.order_id} | ({} if amount is None else {"amount": amount})
    response = await marketplace.api.post(f"/bank_accounts/{funded.bank_account_id}/credits", body)
    error = _error(response, 400, "request")
    assert "amount" in error["extras"]
    schemas.validate("errors", response.body)
    assert await _transfer_count(pipeline, marketplace) == before
    assert await flows.escrowed(marketplace.api, funded.order_id) == 500


async def test_numeric_string_amount_is_accepted_as_cents(marketplace: Marketplace) -> None:
    funded = await flows.funded_order(marketplace.api, 500)
    response = await marketplace.api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": "250", "order": funded.order_id},
    )
    assert response.status == 201, response.body
    assert response.body["credits"][0]["amount"] == 250


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
async def test_malformed_body_is_refused_with_request_error(
    pipeline: Pipeline, marketplace: Marketplace, raw: bytes
) -> None:
    funded = await flows.funded_order(marketplace.api, 500)
    before = await _transfer_count(pipeline, marketplace)
    response = await marketplace.api.request(
        "POST",
        f"/bank_accounts/{funded.bank_account_id}/credits",
        data=raw,
        headers={"Content-Type": "application/json"},
    )
    _error(response, 400, "request")
    assert await _transfer_count(pipeline, marketplace) == before


async def test_unknown_order_is_not_found(pipeline: Pipeline, marketplace: Marketplace) -> None:
    funded = await flows.funded_order(marketplace.api, 500)
    before = await _transfer_count(pipeline, marketplace)
    response = await marketplace.api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 100, "order": "OR" + "0" * 32},
    )
    _error(response, 404, "not-found")
    assert await _transfer_count(pipeline, marketplace) == before


async def test_malformed_order_reference_is_a_request_error(marketplace: Marketplace) -> None:
    funded = await flows.funded_order(marketplace.api, 500)
    response = await marketplace.api.post(
        f"/bank_accounts/{funded.bank_account_id}/credits", {"amount": 100, "order": "/cards/x"}
    )
    assert "order" in _error(response, 400, "request")["extras"]


async def test_another_marketplaces_order_is_not_found(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    ours = await flows.funded_order(marketplace.api, 500)
    key = (await pipeline.api.post("/api_keys")).body["api_keys"][0]["secret"]
    other = pipeline.api.as_key(key)
    assert (await other.post("/marketplaces", {})).status == 201
    theirs = await flows.funded_order(other, 900)
    before = await _transfer_count(pipeline, marketplace)
    crossed = await marketplace.api.post(
        f"/bank_accounts/{ours.bank_account_id}/credits", {"amount": 100, "order": theirs.order_id}
    )
    _error(crossed, 404, "not-found")
    _error(await marketplace.api.get(f"/orders/{theirs.order_id}"), 404, "not-found")
    _error(await marketplace.api.get(f"/bank_accounts/{theirs.bank_account_id}"), 404, "not-found")
    assert await _transfer_count(pipeline, marketplace) == before
    assert await flows.escrowed(other, theirs.order_id) == 900


@pytest.mark.parametrize(
    "secret", [None, "ak-test-nosuchkeyxxxxxxxxxxxxxxxxxxxx"], ids=["missing", "wrong"]
)
async def test_missing_or_wrong_api_key_is_unauthorized(
    pipeline: Pipeline, marketplace: Marketplace, secret: str | None
) -> None:
    funded = await flows.funded_order(marketplace.api, 500)
    before = await _transfer_count(pipeline, marketplace)
    anonymous = pipeline.api.as_key(secret)
    response = await anonymous.post(
        f"/bank_accounts/{funded.bank_account_id}/credits",
        {"amount": 100, "order": funded.order_id},
    )
    error = _error(response, 401, "authentication-required")
    assert error["category_type"] == "request"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert await _transfer_count(pipeline, marketplace) == before


async def test_unknown_route_and_wrong_method_get_the_error_envelope(
    marketplace: Marketplace,
) -> None:
    _error(await marketplace.api.get("/no_such_thing"), 404, "not-found")
    _error(await marketplace.api.delete("/events"), 405, "method-not-allowed")


async def test_oversized_body_is_refused(marketplace: Marketplace) -> None:
    response = await marketplace.api.post("/customers", {"name": "x" * 100_000})
    assert response.status == 413
    assert response.body["errors"][0]["category_code"] == "request"


async def test_overlong_strings_and_meta_are_refused(marketplace: Marketplace) -> None:
    _error(await marketplace.api.post("/customers", {"name": "x" * 300}), 400, "request")
    too_many = {f"k{i}": "v" for i in range(51)}
    _error(await marketplace.api.post("/customers", {"meta": too_many}), 400, "request")


async def test_marketplace_can_be_created_only_once(marketplace: Marketplace) -> None:
    _error(await marketplace.api.post("/marketplaces", {}), 409, "marketplace-already-created")


async def test_duplicate_callback_url_conflicts(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    body = {"url": "http://127.0.0.1:9/hooks"}
    assert (await marketplace.api.post("/callbacks", body)).status == 201
    _error(await marketplace.api.post("/callbacks", body), 409, "duplicate-webhook-url")


async def test_bad_pagination_is_a_request_error(marketplace: Marketplace) -> None:
    _error(await marketplace.api.get("/events?limit=0"), 400, "request")
    _error(await marketplace.api.get("/events?limit=1000"), 400, "request")
    _error(await marketplace.api.get("/events?offset=-1"), 400, "request")


async def test_invalid_card_number_is_not_validated(marketplace: Marketplace) -> None:
    body = {"number": "4111111111111112", "expiration_month": 1, "expiration_year": 2030}
    _error(await marketplace.api.post("/cards", body), 409, "card-not-validated")


async def test_invalid_routing_number_is_refused(marketplace: Marketplace) -> None:
    body = {"routing_number": "100000007", "account_number": "12345678", "name": "X"}
    _error(await marketplace.api.post("/bank_accounts", body), 400, "invalid-routing-number")
