"""Steps of the crowdfunding walkthrough, shared by the tests that need a funded order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from ledger import protocol
from tests.support.pipeline import Api, Pipeline, eventually
from tests.support.receiver import Receiver

VISA = "4111111111111111"
ROUTING = "021000021"
ACCOUNT_SUCCEEDS = "9900000002"
ACCOUNT_FAILS = "9900000004"
ACCOUNT_STAYS_PENDING = "9900000000"


@dataclass(frozen=True)
class FundedOrder:
    order_id: str
    merchant_id: str
    bank_account_id: str
    debit_id: str


async def created(response: Any, plural: str) -> dict[str, Any]:
    assert response.status == 201, response.body
    item: dict[str, Any] = response.body[plural][0]
    return item


async def merchant_with_bank_account(
    api: Api, account_number: str = ACCOUNT_SUCCEEDS
) -> tuple[str, str]:
    merchant = await created(
        await api.post(
            "/customers",
            {
                "name": "Ada Lovelace",
                "dob_month": 12,
                "dob_year": 1985,
                "address": {"postal_code": "94103"},
            },
        ),
        "customers",
    )
    bank_account = await created(
        await api.post(
            "/bank_accounts",
            {
                "name": "Ada Lovelace",
                "routing_number": ROUTING,
                "account_number": account_number,
                "account_type": "checking",
            },
        ),
        "bank_accounts",
    )
    attached = await api.put(
        bank_account["href"],
        {"bank_accounts": [bank_account | {"links": {"customer": merchant["id"]}}]},
    )
    assert attached.status == 200, attached.body
    return merchant["id"], bank_account["id"]


async def funded_order(
    api: Api, amount_cents: int, account_number: str = ACCOUNT_SUCCEEDS
) -> FundedOrder:
    """A merchant with a bank account, an order, and a buyer's card debit into it."""
    merchant_id, bank_account_id = await merchant_with_bank_account(api, account_number)
    order = await created(
        await api.post(f"/customers/{merchant_id}/orders", {"description": "Order #1"}), "orders"
    )
    card = await created(
        await api.post(
            "/cards",
            {"number": VISA, "expiration_month": 12, "expiration_year": 2030, "cvv": "123"},
        ),
        "cards",
    )
    debit = await created(
        await api.post(
            f"/cards/{card['id']}/debits", {"amount": amount_cents, "order": order["href"]}
        ),
        "debits",
    )
    return FundedOrder(order["id"], merchant_id, bank_account_id, debit["id"])


async def credit_order(api: Api, funded: FundedOrder, amount_cents: int) -> dict[str, Any]:
    """Pay `amount_cents` of the order's escrow out to its merchant's bank account."""
    return await created(
        await api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": amount_cents, "order": funded.order_id},
        ),
        "credits",
    )


async def subscribe(pipeline: Pipeline, api: Api, receiver: Receiver) -> dict[str, Any]:
    server = await pipeline.serve(receiver.app())
    return await created(
        await api.post("/callbacks", {"url": str(server.make_url("/hooks"))}), "callbacks"
    )


async def escrowed(api: Api, order_id: str) -> int:
    response = await api.get(f"/orders/{order_id}")
    assert response.status == 200, response.body
    amount: int = response.body["orders"][0]["amount_escrowed"]
    return amount


async def credit_status(api: Api, credit_id: str, wanted: str) -> dict[str, Any]:
    """Wait until the credit reaches `wanted`, then return it."""

    async def reached() -> dict[str, Any] | None:
        item: dict[str, Any] = (await api.get(f"/credits/{credit_id}")).body["credits"][0]
        return item if item["status"] == wanted else None

    result: dict[str, Any] = await eventually(reached)
    return result


async def simulate(pipeline: Pipeline, entry_id: str, action: str, code: str = "R03") -> None:
    """Drive the rail's simulation API for one entry: `settle` or `return` (with a NACHA
    return code)."""
    await rail_simulation(pipeline, entry_id, action, {"code": code} if action == "return" else {})


async def rail_simulation(
    pipeline: Pipeline, entry_id: str, action: str, body: dict[str, Any]
) -> None:
    """POST one simulation (`settle`, `return`, `correct`) once the rail has the entry."""

    async def submitted() -> bool:
        async with pipeline.http.get(f"{pipeline.rail_url}/entries/{entry_id}") as response:
            return response.status == 200

    await eventually(submitted)
    url = f"{pipeline.rail_url}/simulations/entries/{entry_id}/{action}"
    async with pipeline.http.post(
        url, json=body, headers=pipeline.rail_control_headers
    ) as response:
        assert response.status == 200, await response.text()


async def status(api: Api, path: str, wanted: str) -> dict[str, Any]:
    """Wait until the resource at `path` reaches status `wanted`, then return it."""

    async def reached() -> dict[str, Any] | None:
        body = (await api.get(path)).body
        item: dict[str, Any] = next(v for k, v in body.items() if k != "links")[0]
        return item if item["status"] == wanted else None

    result: dict[str, Any] = await eventually(reached)
    return result


RAIL_NOTIFICATIONS_PATH = "/_rail/notifications"


async def submit_job_again(pipeline: Pipeline, transaction_id: str) -> None:
    """Write a transfer's submit job back (a finished job leaves no row), so that the job
    runs again as a queue entry delivered twice would run it."""
    await pipeline.pool.execute(
        "INSERT INTO outbox (id, job, args) "
        "VALUES ($1, $2, jsonb_build_object('transaction_id', $3::text))",
        protocol.submit_job_id(transaction_id),
        protocol.SUBMIT_TRANSFER,
        transaction_id,
    )


async def job_done(pipeline: Pipeline, outbox_id: str) -> bool:
    """A job that has run leaves no row."""
    gone: bool = await pipeline.pool.fetchval(
        "SELECT NOT EXISTS (SELECT 1 FROM outbox WHERE id = $1)", outbox_id
    )
    return gone


async def rail_outcomes_applied(pipeline: Pipeline, entry_id: str) -> None:
    """Wait until the rail has handed over every notification it holds (the API keeps each
    as an outbox job before it answers) and the job of each about `entry_id` has run."""

    async def applied() -> bool:
        async with pipeline.http.get(f"{pipeline.rail_url}/healthz") as response:
            if (await response.json())["notifications_queued"]:
                return False
        left: bool = await pipeline.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE job = $1 AND args->'entry'->>'id' = $2)",
            protocol.APPLY_OUTCOME,
            entry_id,
        )
        return not left

    await eventually(applied)


async def post_signed_notification(pipeline: Pipeline, message_id: str, body: str) -> Any:
    """POST `body` to the API's rail endpoint signed with the real rail secret, as the
    rail does."""
    now = datetime.now(UTC)
    signed = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(pipeline.rail_secret).sign(message_id, now, body),
        "Content-Type": "application/json",
    }
    return await pipeline.api.request(
        "POST", RAIL_NOTIFICATIONS_PATH, data=body.encode(), headers=signed
    )
