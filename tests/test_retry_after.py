"""A receiver's `Retry-After` is honoured within bounds: an absurd one is clamped rather
than breaking the attempt log and the retry schedule, and the HTTP-date form counts too."""

from __future__ import annotations

import asyncio
import email.utils
import time
from datetime import timedelta
from typing import Any

from callbacks import delivery
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Api, Pipeline, eventually
from tests.support.receiver import Answer, Delivery, Receiver

# Longer than the test settings' outbox_stale_after_ms plus a sweep: a delivery whose
# outbox row was left open (not deferred) would have been sent again by then.
SWEEPER_RESEND_WINDOW_S = 1.5


async def _debit(api: Api) -> str:
    card = await flows.created(
        await api.post(
            "/cards", {"number": flows.VISA, "expiration_month": 1, "expiration_year": 2031}
        ),
        "cards",
    )
    debit = await flows.created(
        await api.post(f"/cards/{card['id']}/debits", {"amount": 100}), "debits"
    )
    debit_id: str = debit["id"]
    return debit_id


def _copies(receiver: Receiver, first: Delivery) -> list[Delivery]:
    message_id = first.headers["webhook-id"]
    return [d for d in receiver.deliveries if d.headers["webhook-id"] == message_id]


async def _logs(api: Api, first: Delivery, callback_id: str) -> list[dict[str, Any]]:
    path = f"/events/{first.event['id']}/callbacks/{callback_id}/logs"
    logs: list[dict[str, Any]] = (await api.get(path)).body["event_callback_logs"]
    return logs


async def test_an_absurd_retry_after_is_clamped_and_the_attempt_still_logged(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    absurd = Answer(503, headers={"Retry-After": "99999999999999999999"})
    receiver = Receiver(script=[absurd])
    callback = await flows.subscribe(pipeline, marketplace.api, receiver)
    first = await receiver.wait_for("debit.succeeded", await _debit(marketplace.api))

    async def logged() -> list[dict[str, Any]]:
        return await _logs(marketplace.api, first, callback["id"])

    logs = await eventually(logged)
    assert [log["response_status"] for log in logs] == [503]
    scheduled = await pipeline.pool.fetchrow(
        """SELECT d.status, d.attempts, o.not_before - now() AS wait
           FROM callback_deliveries d JOIN outbox o ON o.args->>'delivery_id' = d.id
           WHERE d.event_id = $1 AND d.callback_id = $2""",
        first.event["id"],
        callback["id"],
    )
    assert scheduled["status"] == "retrying" and scheduled["attempts"] == 1
    clamp = timedelta(seconds=delivery.RETRY_AFTER_S_MAX)
    assert clamp - timedelta(minutes=1) < scheduled["wait"] <= clamp
    # Deferred, so neither arq nor the sweeper sends it again in the meantime.
    await asyncio.sleep(SWEEPER_RESEND_WINDOW_S)
    assert len(_copies(receiver, first)) == 1
    assert len(await logged()) == 1


async def test_an_http_date_retry_after_is_honoured(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    # HTTP dates have whole seconds: 3 s ahead is at least 2 s after this line, and the
    # first delivery arrives well within the first second.
    retry_at = email.utils.formatdate(time.time() + 3, usegmt=True)
    receiver = Receiver(script=[Answer(503, headers={"Retry-After": retry_at})])
    await flows.subscribe(pipeline, marketplace.api, receiver)
    first = await receiver.wait_for("debit.succeeded", await _debit(marketplace.api))
    await receiver.wait_until(lambda: len(_copies(receiver, first)) >= 2)
    retry = _copies(receiver, first)[1]
    assert retry.received_at - first.received_at >= 1.0
