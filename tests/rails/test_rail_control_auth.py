"""The rail's control API (simulations, clock, rules, files) answers only to its bearer
token, unless the rail runs with --open-control; entries and health stay open to ballast's
workers. A callback, which `ballast up` lets reach loopback addresses, cannot drive it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

import pytest
from conftest import CONFIG, CONTROL_TOKEN, SECRET, Rail, entry_body

from rails.config import RailConfig
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually

CONTROL_CALLS = [
    ("POST", "/simulations/entries/CR-1/settle", None),
    ("POST", "/simulations/entries/CR-1/return", {"code": "R01"}),
    ("POST", "/simulations/entries/CR-1/correct", {"code": "C01", "corrected_data": "1234"}),
    ("GET", "/clock", None),
    ("PUT", "/clock", {"frozen": True, "now": "2031-01-06T15:00:00Z"}),
    ("POST", "/clock/advance", {"banking_days": 3}),
    ("GET", "/rules", None),
    ("PUT", "/rules", [{"action": "return", "code": "R02", "match": {}}]),
    ("GET", "/files", None),
    ("GET", "/files/anything.ach", None),
]
WRONG_CREDENTIALS = [
    None,
    f"Bearer {CONTROL_TOKEN[:-1]}",
    f"Bearer {CONTROL_TOKEN}x",
    f"Basic {CONTROL_TOKEN}",
    CONTROL_TOKEN,
    "Bearer ",
]


async def _call(
    rail: Rail, method: str, path: str, body: Any, authorization: str | None
) -> tuple[int, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with rail.client.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.json()


async def _state(rail: Rail) -> tuple[Any, ...]:
    """Everything a control call could change, read with the token."""
    _, entry = await rail.call("GET", "/entries/CR-1")
    _, clock = await rail.call("GET", "/clock")
    _, rules = await rail.call("GET", "/rules")
    return entry, clock["now"][:16], clock["frozen"], clock["day_ms"], rules


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_CALLS)
async def test_control_calls_without_the_token_get_401_and_change_nothing(
    rail: Rail, method: str, path: str, body: Any
) -> None:
    await rail.call("PUT", "/clock", {"frozen": True})
    assert (await rail.submit(account_number="9900000000"))[0] == 201  # Stays pending.
    before = await _state(rail)
    for authorization in WRONG_CREDENTIALS:
        status, error = await _call(rail, method, path, body, authorization)
        assert status == 401, (authorization, error)
        assert "BALLAST_RAIL_CONTROL_TOKEN" in error["error"]
    assert await _state(rail) == before
    assert before[0]["status"] == "pending"


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "value"),
    [
        (*CONTROL_CALLS[0], "status", "settled"),
        (*CONTROL_CALLS[1], "status", "returned"),
        (*CONTROL_CALLS[2], "correction_code", "C01"),
    ],
)
async def test_with_the_token_control_calls_work(
    rail: Rail, method: str, path: str, body: Any, field: str, value: str
) -> None:
    assert (await rail.submit(account_number="9900000000"))[0] == 201
    # The scheme is case-insensitive (RFC 9110).
    status, entry = await _call(rail, method, path, body, f"bearer {CONTROL_TOKEN}")
    assert (status, entry[field]) == (200, value), entry
    assert (await rail.call("GET", "/entries/CR-1"))[1][field] == value


async def test_entries_and_health_need_no_token(rail: Rail) -> None:
    assert (await _call(rail, "POST", "/entries", entry_body(), None))[0] == 201
    assert (await _call(rail, "GET", "/entries/CR-1", None, None))[0] == 200
    assert (await _call(rail, "GET", "/healthz", None, None))[0] == 200


async def test_open_control_needs_no_token(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]],
) -> None:
    async with make_rail(control_token=None, open_control=True) as rail:
        assert (await _call(rail, "POST", "/entries", entry_body(), None))[0] == 201
        for method, path, body in CONTROL_CALLS:
            status, answer = await _call(rail, method, path, body, None)
            assert status != 401, (method, path, answer)
        assert (await _call(rail, "GET", "/rules", None, None))[1][0]["code"] == "R02"


@pytest.mark.parametrize(
    "changes",
    [
        {"control_token": None},
        {"control_token": "too-short"},
        {"open_control": True},  # With a token as well: one or the other.
    ],
)
def test_the_rail_needs_a_strong_token_or_open_control(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        replace(CONFIG, **changes)
    assert RailConfig(secret=SECRET, open_control=True).control_token is None


@pytest.fixture
async def pending_credit(pipeline: Pipeline, marketplace: Marketplace) -> AsyncIterator[str]:
    """A credit whose rail entry stays pending until the rail is told what to do."""
    api = marketplace.api
    funded = await flows.funded_order(api, 500, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.created(
        await api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 500, "order": funded.order_id},
        ),
        "credits",
    )

    async def submitted() -> bool:
        async with pipeline.http.get(f"{pipeline.rail_url}/entries/{credit['id']}") as response:
            return response.status == 200

    await eventually(submitted)
    yield credit["id"]
    # Leave the ledger final for the audit: settle it, with the token.
    settle = f"{pipeline.rail_url}/simulations/entries/{credit['id']}/settle"
    async with pipeline.http.post(settle, headers=pipeline.rail_control_headers) as response:
        assert response.status == 200, await response.text()
    await flows.credit_status(api, credit["id"], "succeeded")


async def test_a_callback_cannot_drive_the_rails_control_api(
    pipeline: Pipeline, marketplace: Marketplace, pending_credit: str
) -> None:
    """As under `ballast up`, callbacks may reach loopback (the test settings allow it);
    one aimed at the rail's settle simulation reaches it and is refused."""
    assert pipeline.settings.callbacks_allow_private
    api = marketplace.api
    target = f"{pipeline.rail_url}/simulations/entries/{pending_credit}/settle"
    callback = await flows.created(await api.post("/callbacks", {"url": target}), "callbacks")
    # Any event of the marketplace is delivered to it: a new customer's.
    customer = await flows.created(await api.post("/customers", {"name": "Eve"}), "customers")
    events = (await api.get(f"/customers/{customer['id']}/events")).body["events"]
    event_id = events[0]["id"]

    async def attempts() -> list[dict[str, Any]] | None:
        path = f"/events/{event_id}/callbacks/{callback['id']}/logs"
        logs: list[dict[str, Any]] = (await api.get(path)).body["event_callback_logs"]
        return logs or None

    logs = await eventually(attempts)
    assert logs[0]["response_status"] == 401
    await api.delete(f"/callbacks/{callback['id']}")
    async with pipeline.http.get(f"{pipeline.rail_url}/entries/{pending_credit}") as response:
        assert (await response.json())["status"] == "pending"
    credit = (await api.get(f"/credits/{pending_credit}")).body["credits"][0]
    assert credit["status"] == "pending"
