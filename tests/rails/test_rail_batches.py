"""The rail takes entries in batches (an ACH file is a batch) and, when configured so,
sends the outcomes ready together for one receiver in one signed request."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import aiohttp
from conftest import SECRET, Rail, Receiver, entry_body
from standardwebhooks.webhooks import Webhook

from rails.client import EntryRequest, HttpRailClient
from rails.models import ENTRY_BATCH_MAX
from rails.notifier import NOTIFY_BATCH_BYTES_MAX


async def test_a_batch_answers_each_entry_as_posting_it_alone_would(rail: Rail) -> None:
    await rail.submit(id="CR-known")
    await rail.submit(id="CR-reused", amount_cents=1)
    status, body = await rail.call(
        "POST",
        "/entries/batch",
        {
            "entries": [
                entry_body(id="CR-known"),
                entry_body(id="CR-new"),
                entry_body(id="CR-reused", amount_cents=2),
            ]
        },
    )
    assert status == 200
    results = {result["id"]: result for result in body["results"]}
    assert [result["id"] for result in body["results"]] == ["CR-known", "CR-new", "CR-reused"]
    assert (results["CR-known"]["status"], results["CR-new"]["status"]) == (200, 201)
    assert results["CR-new"]["entry"]["trace_number"]
    assert results["CR-reused"]["status"] == 409 and "entry" not in results["CR-reused"]
    assert rail.bank.store.get("CR-new") is not None


async def test_a_batch_over_the_limit_is_refused_whole(rail: Rail) -> None:
    entries = [entry_body(id=f"CR-{index}") for index in range(ENTRY_BATCH_MAX + 1)]
    status, _ = await rail.call("POST", "/entries/batch", {"entries": entries})
    assert status == 400
    assert rail.bank.store.get("CR-0") is None


async def test_the_client_gets_one_result_per_entry_in_order(rail: Rail) -> None:
    entries = [
        EntryRequest(
            id=f"CR-{index}",
            kind="credit",
            routing_number="021000021",
            account_number="9900000002",
            amount_cents=100 + index,
        )
        for index in range(3)
    ]
    async with aiohttp.ClientSession() as session:
        client = HttpRailClient(str(rail.client.make_url("")), session)
        results = await client.submit_batch(entries)
    assert [(result.id, result.status) for result in results] == [
        ("CR-0", 201),
        ("CR-1", 201),
        ("CR-2", 201),
    ]
    assert [result.entry.amount_cents for result in results if result.entry] == [100, 101, 102]


async def test_outcomes_ready_together_arrive_in_one_signed_batch(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]], receiver: Receiver
) -> None:
    async with make_rail(notify_batch_max=10) as rail:
        entries = [entry_body(id=f"CR-{index}", notify_url=receiver.url) for index in range(5)]
        status, _ = await rail.call("POST", "/entries/batch", {"entries": entries})
        assert status == 200
        body, raw, headers = await receiver.next_raw()
    Webhook(SECRET).verify(raw, headers)
    assert body["type"] == "batch" and body["id"] == headers["webhook-id"]
    notifications = body["notifications"]
    assert sorted(n["entry"]["id"] for n in notifications) == [f"CR-{i}" for i in range(5)]
    assert {n["type"] for n in notifications} == {"entry.settled"}
    assert len({n["id"] for n in notifications}) == 5
    assert receiver.queue.empty()


async def test_one_entry_s_notifications_never_share_a_batch_and_keep_their_order(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]], receiver: Receiver
) -> None:
    async with make_rail(notify_batch_max=10) as rail:
        rules = [{"action": "return", "code": "R10", "late_return_after_banking_days": 5}]
        assert (await rail.call("PUT", "/rules", rules))[0] == 200
        await rail.submit(id="CR-late", notify_url=receiver.url)
        received = [await receiver.next(), await receiver.next()]
    types = [
        n["type"]
        for body in received
        for n in (body["notifications"] if body["type"] == "batch" else [body])
    ]
    assert types == ["entry.settled", "entry.returned"]


async def test_a_batch_stays_under_the_byte_limit_receivers_set(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]], receiver: Receiver
) -> None:
    count = 2 * NOTIFY_BATCH_BYTES_MAX // 600  # Over the limit twice at ~600 bytes each.
    async with make_rail(notify_batch_max=1000) as rail:
        entries = [entry_body(id=f"CR-{index}", notify_url=receiver.url) for index in range(count)]
        status, _ = await rail.call("POST", "/entries/batch", {"entries": entries})
        assert status == 200
        seen: set[str] = set()
        while len(seen) < count:
            body, raw, _ = await receiver.next_raw()
            assert len(raw) <= NOTIFY_BATCH_BYTES_MAX + 100  # The envelope around them.
            batch = body["notifications"] if body["type"] == "batch" else [body]
            seen |= {n["entry"]["id"] for n in batch}
    assert seen == {f"CR-{index}" for index in range(count)}
