"""Transfers move through the rail in batches: many submissions in one rail request, many
outcomes in one signed notification and one transaction. A batch changes no guarantee:
each notification is still one job by its own id, and one transfer the rail cannot take
holds up none of the others."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import pytest

from api.views.rail import NOTIFICATION_BATCH_MAX
from ledger import audit, outbox, protocol
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually
from tests.support.receiver import Receiver


async def _post_batch(pipeline: Pipeline, notifications: Any) -> Any:
    """POST a batch signed with the real rail secret, as the rail sends one."""
    batch_id = f"NTB-{secrets.token_hex(6)}"
    body = json.dumps({"id": batch_id, "type": "batch", "notifications": notifications})
    return await flows.post_signed_notification(pipeline, batch_id, body)


def _settled(credit: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"NTF-{secrets.token_hex(6)}",
        "type": "entry.settled",
        "entry": {"id": credit["id"], "kind": "credit", "amount_cents": credit["amount"]},
    }


async def _pending_credits(marketplace: Marketplace, count: int) -> list[dict[str, Any]]:
    """Credits the rail took and decides nothing about on its own."""
    funded = await flows.funded_order(
        marketplace.api, 100 * count, account_number=flows.ACCOUNT_STAYS_PENDING
    )
    return [await flows.credit_order(marketplace.api, funded, 100) for _ in range(count)]


async def _outcome_jobs(pipeline: Pipeline, notifications: list[dict[str, Any]]) -> int:
    count: int = await pipeline.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE id = ANY($1)",
        [protocol.outcome_job_id(n["id"]) for n in notifications],
    )
    return count


async def _outcome_jobs_done(pipeline: Pipeline, notifications: list[dict[str, Any]]) -> bool:
    return await _outcome_jobs(pipeline, notifications) == 0


async def test_a_batch_of_notifications_is_one_job_each_and_all_are_applied(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    credits = await _pending_credits(marketplace, 3)
    notifications = [_settled(credit) for credit in credits]
    await pipeline.stop_worker()
    try:
        response = await _post_batch(pipeline, notifications)
        assert response.status == 204, response.body
        assert await _outcome_jobs(pipeline, notifications) == 3
    finally:
        await pipeline.start_worker()
    for credit in credits:
        await flows.credit_status(marketplace.api, credit["id"], "succeeded")
    assert await _outcome_jobs(pipeline, notifications) == 0


async def test_the_same_batch_sent_again_changes_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    (credit,) = await _pending_credits(marketplace, 1)
    notifications = [_settled(credit)]
    assert (await _post_batch(pipeline, notifications)).status == 204
    await flows.credit_status(marketplace.api, credit["id"], "succeeded")
    # Its first job has run and left no row: the second is a job again, which finds the
    # credit decided and changes nothing.
    assert (await _post_batch(pipeline, notifications)).status == 204
    await eventually(lambda: _outcome_jobs_done(pipeline, notifications))
    events = await marketplace.api.get(f"/credits/{credit['id']}/events")
    assert [e["type"] for e in events.body["events"]].count("credit.succeeded") == 1


async def test_a_malformed_batch_is_refused_whole_and_keeps_nothing(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    (credit,) = await _pending_credits(marketplace, 1)
    good = _settled(credit)
    too_many = [_settled(credit) for _ in range(NOTIFICATION_BATCH_MAX + 1)]
    for notifications in ({"not": "a list"}, [], too_many, [good, {"type": "entry.settled"}]):
        response = await _post_batch(pipeline, notifications)
        assert response.status == 400, response.body
        assert response.body["errors"][0]["category_code"] == "request"
    assert await _outcome_jobs(pipeline, [good]) == 0


async def test_an_entry_the_rail_holds_with_other_details_holds_up_none_of_its_batch(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    await pipeline.stop_worker()
    funded = await flows.funded_order(
        marketplace.api, 200, account_number=flows.ACCOUNT_STAYS_PENDING
    )
    first = await flows.credit_order(marketplace.api, funded, 100)
    second = await flows.credit_order(marketplace.api, funded, 100)
    # The rail already holds the second credit's id with other details (as after a notice
    # of change): it answers 409 for that entry of the batch, 201 for the other.
    earlier = {
        "id": second["id"],
        "kind": "credit",
        "routing_number": "021000021",
        "account_number": "9900000000",
        "amount_cents": 99,
    }
    async with pipeline.http.post(f"{pipeline.rail_url}/entries", json=earlier) as response:
        assert response.status == 201
        held = await response.json()
    await pipeline.start_worker()

    async def traces() -> list[str] | None:
        rows = await pipeline.pool.fetch(
            "SELECT id, rail_trace_number FROM transactions WHERE id = ANY($1) ORDER BY id",
            [first["id"], second["id"]],
        )
        found = {row["id"]: row["rail_trace_number"] for row in rows}
        return None if None in found.values() else [found[first["id"]], found[second["id"]]]

    first_trace, second_trace = await eventually(traces)
    assert second_trace == held["trace_number"]  # The entry the rail holds, not a second.
    async with pipeline.http.get(f"{pipeline.rail_url}/entries/{first['id']}") as response:
        assert (await response.json())["trace_number"] == first_trace


def _returned(credit: dict[str, Any], code: str = "R01") -> dict[str, Any]:
    notification = _settled(credit)
    notification["type"] = "entry.returned"
    notification["entry"] |= {"return_code": code, "return_reason": "Insufficient funds"}
    return notification


async def test_one_batch_mixing_settlements_returns_and_late_returns_counts_money_once(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    """Settled payouts take the batch's fast path, the rest are applied one by one, in the
    batch's order: an entry settled then returned in the same batch ends failed, with its
    escrow back once."""
    funded = await flows.funded_order(
        marketplace.api, 300, account_number=flows.ACCOUNT_STAYS_PENDING
    )
    settled, returned, late = [
        await flows.credit_order(marketplace.api, funded, 100) for _ in "abc"
    ]
    await pipeline.stop_worker()
    notifications = [_settled(settled), _settled(late), _returned(returned), _returned(late)]
    assert (await _post_batch(pipeline, notifications)).status == 204
    await pipeline.start_worker()
    await flows.credit_status(marketplace.api, settled["id"], "succeeded")
    await flows.credit_status(marketplace.api, returned["id"], "failed")
    await flows.credit_status(marketplace.api, late["id"], "failed")
    assert await flows.escrowed(marketplace.api, funded.order_id) == 200
    async with pipeline.pool.acquire() as connection:
        assert await audit.violations(connection) == []
    events = await marketplace.api.get(f"/credits/{late['id']}/events")
    types = [event["type"] for event in events.body["events"]]
    assert types == ["credit.created", "credit.succeeded", "credit.failed"]


async def test_a_batch_of_deliveries_to_one_slow_receiver_queues_instead_of_parking(
    pipeline: Pipeline, marketplace: Marketplace, caplog: pytest.LogCaptureFixture
) -> None:
    """Many deliveries due at once to one receiver that takes its time (but answers well
    within the timeout) go through its lane a lane's width at a time: none is parked as if
    the receiver were stuck, none is attempted twice."""
    caplog.set_level(logging.INFO, logger="workers.deliveries")
    slow = Receiver(delay_s=0.1)
    callback = await flows.subscribe(pipeline, marketplace.api, slow)
    await pipeline.stop_worker()
    funded = await flows.funded_order(marketplace.api, 100 * 40)
    credits = [await flows.credit_order(marketplace.api, funded, 100) for _ in range(40)]
    await pipeline.start_worker()
    for credit in credits:
        await slow.wait_for("credit.succeeded", credit["id"], timeout_s=30)

    async def all_delivered() -> bool:
        open_count = await pipeline.pool.fetchval(
            "SELECT count(*) FROM callback_deliveries WHERE callback_id = $1 "
            "AND status <> 'succeeded'",
            callback["id"],
        )
        return bool(open_count == 0)

    await eventually(all_delivered)
    row = await pipeline.pool.fetchrow(
        "SELECT c.stalled_until, max(d.attempts) AS attempts FROM callbacks c "
        "JOIN callback_deliveries d ON d.callback_id = c.id WHERE c.id = $1 "
        "GROUP BY c.stalled_until",
        callback["id"],
    )
    assert row["stalled_until"] is None
    assert row["attempts"] == 1
    assert not [r for r in caplog.records if r.getMessage().startswith("parked")]


async def test_a_claim_leaves_the_deliveries_of_a_busy_callback_for_later(
    pipeline: Pipeline,
) -> None:
    """A worker still busy with a callback's earlier deliveries claims none of its new
    ones: they wait in the outbox, and other callbacks' deliveries are taken meanwhile."""
    rows = ["CBbusy/DL1", "CBbusy/DL2", "CBfree/DL3"]
    await pipeline.stop_worker()  # Only this test claims.
    try:
        await pipeline.pool.execute(
            "INSERT INTO outbox (id, job) SELECT unnest($1::text[]), 'deliver_callback'", rows
        )
        claimed = await outbox.claim_due(
            pipeline.pool, protocol.DELIVER_CALLBACK, 10, 60_000, ["CBbusy/"]
        )
        assert [job.id for job in claimed] == ["CBfree/DL3"]
        left = await outbox.claim_due(pipeline.pool, protocol.DELIVER_CALLBACK, 10, 60_000, [])
        assert sorted(job.id for job in left) == ["CBbusy/DL1", "CBbusy/DL2"]
    finally:
        await pipeline.pool.execute("DELETE FROM outbox WHERE id = ANY($1)", rows)
        await pipeline.start_worker()


async def test_a_claim_sparing_a_busy_callback_takes_the_oldest_due_deliveries_of_the_others(
    pipeline: Pipeline,
) -> None:
    """Across callbacks, oldest first and at most the batch: the busy callback's backlog and
    deliveries not yet due (a retry waiting out its backoff) stay where they are."""
    busy = [f"CBbusy/DL{n}" for n in range(50)]
    due = {"CBone/DL1": -3, "CBtwo/DL2": -2, "CBone/DL3": -1, "CBtwo/DL4": 0}
    later = "CBtwo/DL5"
    await pipeline.stop_worker()  # Only this test claims.
    try:
        await pipeline.pool.execute(
            "INSERT INTO outbox (id, job, not_before) "
            "SELECT id, 'deliver_callback', now() + make_interval(secs => s) "
            "FROM unnest($1::text[], $2::int[]) AS r (id, s)",
            [*busy, *due, later],
            [-10] * len(busy) + [seconds - 5 for seconds in due.values()] + [3600],
        )
        claimed = await outbox.claim_due(
            pipeline.pool, protocol.DELIVER_CALLBACK, 3, 60_000, ["CBbusy/"]
        )
        assert sorted(job.id for job in claimed) == ["CBone/DL1", "CBone/DL3", "CBtwo/DL2"]
        rest = await outbox.claim_due(
            pipeline.pool, protocol.DELIVER_CALLBACK, 10, 60_000, ["CBbusy/"]
        )
        assert [job.id for job in rest] == ["CBtwo/DL4"]
    finally:
        await pipeline.pool.execute("DELETE FROM outbox WHERE id = ANY($1)", [*busy, *due, later])
        await pipeline.start_worker()
