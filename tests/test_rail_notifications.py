"""The rail's notifications are believed only for what we sent it: a validly signed
notification about an entry that is not ours, of another kind or amount than we sent, or
asking for a transition the transfer's state forbids changes nothing."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ledger import protocol
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually


async def _notify(pipeline: Pipeline, kind: str, entry: dict[str, Any]) -> str:
    """Post a signed notification; returns its id once its outbox job has run."""
    notification_id = f"forged-{secrets.token_hex(6)}"
    body = json.dumps({"id": notification_id, "type": kind, "entry": entry})
    response = await flows.post_signed_notification(pipeline, notification_id, body)
    assert response.status == 204, response.body

    # The API kept the job before it answered: once the row is gone, the job has run.
    await eventually(lambda: flows.job_done(pipeline, protocol.outcome_job_id(notification_id)))
    return notification_id


def _entry(transfer_id: str, kind: str, amount_cents: int) -> dict[str, Any]:
    return {
        "id": transfer_id,
        "kind": kind,
        "amount_cents": amount_cents,
        "return_code": "R01",
        "return_reason": "Insufficient funds",
    }


async def _paid_credit(pipeline: Pipeline, marketplace: Marketplace) -> tuple[str, str]:
    funded = await flows.funded_order(marketplace.api, 900)
    credit = await flows.credit_order(marketplace.api, funded, 900)
    await flows.credit_status(marketplace.api, credit["id"], "succeeded")
    return funded.order_id, credit["id"]


async def test_a_return_claiming_another_kind_of_entry_changes_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    order_id, credit_id = await _paid_credit(pipeline, marketplace)
    await _notify(pipeline, "entry.returned", _entry(credit_id, "debit", 900))
    await _notify(pipeline, "entry.returned", _entry(credit_id, "credit", 1))
    assert (await marketplace.api.get(f"/credits/{credit_id}")).body["credits"][0][
        "status"
    ] == "succeeded"
    assert await flows.escrowed(marketplace.api, order_id) == 0


async def test_a_notification_for_a_transfer_that_never_went_to_the_rail_changes_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 500)
    await _notify(pipeline, "entry.returned", _entry(funded.debit_id, "debit", 500))
    debit = (await marketplace.api.get(f"/debits/{funded.debit_id}")).body["debits"][0]
    assert debit["status"] == "succeeded"
    assert await flows.escrowed(marketplace.api, funded.order_id) == 500


async def test_a_settlement_notice_for_a_failed_credit_changes_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 700, account_number=flows.ACCOUNT_FAILS)
    credit = await flows.credit_order(marketplace.api, funded, 700)
    await flows.credit_status(marketplace.api, credit["id"], "failed")
    await _notify(pipeline, "entry.settled", _entry(credit["id"], "credit", 700))
    assert await flows.escrowed(marketplace.api, funded.order_id) == 700
    listed = await marketplace.api.get(f"/credits/{credit['id']}?status=failed")
    assert listed.body["credits"][0]["status"] == "failed"


async def test_a_malformed_notification_is_refused_where_it_enters(pipeline: Pipeline) -> None:
    """A validly signed body that is no notification is a 400, and no job is kept for it:
    the outcome job would only crash on it."""
    malformed: list[Any] = [
        [],
        {"type": "entry.settled", "entry": {"id": "CR1"}},
        {"id": 7, "type": "entry.settled", "entry": {"id": "CR1"}},
        {"id": "n1", "type": "entry.settled"},
        {"id": "n1", "type": "entry.settled", "entry": {"kind": "credit"}},
        {"id": "n1", "type": "entry.settled", "entry": {"id": "CR1", "amount_cents": "9"}},
        {"id": "n1", "type": "entry.returned", "entry": {"id": "CR1", "return_code": 1}},
    ]
    for index, notification in enumerate(malformed):
        notification_id = f"malformed-{secrets.token_hex(6)}"
        if isinstance(notification, dict) and isinstance(notification.get("id"), str):
            notification = notification | {"id": notification_id}
        response = await flows.post_signed_notification(
            pipeline, notification_id, json.dumps(notification)
        )
        assert response.status == 400, (index, response.body)
        query = "SELECT count(*) FROM outbox WHERE id = $1"
        outcome_job = protocol.outcome_job_id(notification_id)
        assert await pipeline.pool.fetchval(query, outcome_job) == 0, index
    response = await flows.post_signed_notification(pipeline, "not-json", "{not json")
    assert response.status == 400, response.body
