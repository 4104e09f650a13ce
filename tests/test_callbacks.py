"""Events and callbacks receivers can trust: Standard Webhooks signatures (checked with
both third-party verifiers), retries, disabling, redelivery, ordering, the SSRF guard."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import standardwebhooks
import svix.webhooks
from aiohttp.test_utils import TestServer

from api.app import create_app
from callbacks import ssrf
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Api, Pipeline, eventually
from tests.support.receiver import Answer, Delivery, Receiver


def _verify_with_both(secret: str, delivery: Delivery) -> dict[str, Any]:
    payload: dict[str, Any] = standardwebhooks.Webhook(secret).verify(
        delivery.body, delivery.headers
    )
    svix.webhooks.Webhook(secret).verify(delivery.body, delivery.headers)  # Raises if invalid.
    return payload


async def _debit(api: Api, amount: int = 100) -> str:
    card = await flows.created(
        await api.post(
            "/cards", {"number": flows.VISA, "expiration_month": 1, "expiration_year": 2031}
        ),
        "cards",
    )
    debit = await flows.created(
        await api.post(f"/cards/{card['id']}/debits", {"amount": amount}), "debits"
    )
    debit_id: str = debit["id"]
    return debit_id


async def _logs(api: Api, delivery: Delivery, callback_id: str) -> list[dict[str, Any]]:
    body = (await api.get(f"/events/{delivery.event['id']}/callbacks/{callback_id}/logs")).body
    logs: list[dict[str, Any]] = body["event_callback_logs"]
    return logs


async def test_every_delivery_verifies_with_standardwebhooks_and_svix(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    receiver = Receiver()
    callback = await flows.subscribe(pipeline, marketplace.api, receiver)
    debit_id = await _debit(marketplace.api)
    await receiver.wait_for("debit.succeeded", debit_id)
    assert receiver.deliveries
    for delivery in receiver.deliveries:
        payload = _verify_with_both(callback["secret"], delivery)
        assert payload["events"][0]["id"] == delivery.headers["webhook-id"]


async def test_tampered_body_wrong_secret_and_stale_timestamp_are_rejected(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    receiver = Receiver()
    callback = await flows.subscribe(pipeline, marketplace.api, receiver)
    delivery = await receiver.wait_for("debit.succeeded", await _debit(marketplace.api))
    tampered = delivery.body.replace('"amount":100', '"amount":999')
    assert tampered != delivery.body
    stale = dict(delivery.headers, **{"webhook-timestamp": str(int(time.time()) - 3600)})
    other_secret = (
        await marketplace.api.post("/callbacks", {"url": "http://127.0.0.1:9/other"})
    ).body["callbacks"][0]["secret"]
    for verifier, error in (
        (standardwebhooks.Webhook, standardwebhooks.WebhookVerificationError),
        (svix.webhooks.Webhook, svix.webhooks.WebhookVerificationError),
    ):
        with pytest.raises(error):
            verifier(callback["secret"]).verify(tampered, delivery.headers)
        with pytest.raises(error):
            verifier(other_secret).verify(delivery.body, delivery.headers)
        with pytest.raises(error):
            verifier(callback["secret"]).verify(delivery.body, stale)


async def test_rotation_signs_with_both_secrets_during_the_overlap(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    receiver = Receiver()
    callback = await flows.subscribe(pipeline, api, receiver)
    rotated = await api.post(f"/callbacks/{callback['id']}/secret_rotations", {})
    assert rotated.status == 200, rotated.body
    new_secret = rotated.body["callbacks"][0]["secret"]
    assert new_secret != callback["secret"]
    during = await receiver.wait_for("debit.succeeded", await _debit(api))
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    _verify_with_both(callback["secret"], during)
    _verify_with_both(new_secret, during)

    ended = await api.post(f"/callbacks/{callback['id']}/secret_rotations", {"overlap_ms": 0})
    newest = ended.body["callbacks"][0]["secret"]
    after = await receiver.wait_for("debit.succeeded", await _debit(api))
    _verify_with_both(newest, after)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret).verify(after.body, after.headers)


async def test_failed_deliveries_are_retried_until_one_gets_through(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    receiver = Receiver(script=[Answer(500), Answer(500)])
    callback = await flows.subscribe(pipeline, marketplace.api, receiver)
    first = await receiver.wait_for("debit.succeeded", await _debit(marketplace.api))
    await receiver.wait_until(lambda: len(_copies(receiver, first)) >= 3)
    copies = _copies(receiver, first)
    assert len(copies) == 3 and len({d.body for d in copies}) == 1

    async def logged() -> list[dict[str, Any]] | None:
        logs = await _logs(marketplace.api, first, callback["id"])
        return logs if len(logs) == 3 else None

    logs = await eventually(logged)
    assert [log["response_status"] for log in logs] == [500, 500, 200]
    assert all(log["latency_ms"] >= 0 for log in logs)


def _copies(receiver: Receiver, delivery: Delivery) -> list[Delivery]:
    message_id = delivery.headers["webhook-id"]
    return [d for d in receiver.deliveries if d.headers["webhook-id"] == message_id]


async def test_a_receiver_that_times_out_is_retried(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    timeout_s = pipeline.settings.callback_timeout_ms / 1000
    receiver = Receiver(script=[Answer(200, delay_s=timeout_s * 2)])
    callback = await flows.subscribe(pipeline, marketplace.api, receiver)
    first = await receiver.wait_for("debit.succeeded", await _debit(marketplace.api))

    async def logged() -> list[dict[str, Any]] | None:
        logs = await _logs(marketplace.api, first, callback["id"])
        return logs if len(logs) >= 2 else None

    logs = await eventually(logged)
    assert logs[0]["response_status"] is None and "Timeout" in logs[0]["error"]
    assert logs[1]["response_status"] == 200


async def test_retry_after_is_honoured(pipeline: Pipeline, marketplace: Marketplace) -> None:
    receiver = Receiver(script=[Answer(429, headers={"Retry-After": "1"})])
    await flows.subscribe(pipeline, marketplace.api, receiver)
    first = await receiver.wait_for("debit.succeeded", await _debit(marketplace.api))
    await receiver.wait_until(lambda: len(_copies(receiver, first)) >= 2)
    retry = _copies(receiver, first)[1]
    assert retry.received_at - first.received_at >= 1.0


async def _health(api: Api, callback_id: str) -> dict[str, Any]:
    health: dict[str, Any] = (await api.get(f"/callbacks/{callback_id}/health")).body[
        "callback_health"
    ][0]
    return health


async def test_gone_disables_the_callback(pipeline: Pipeline, marketplace: Marketplace) -> None:
    api = marketplace.api
    gone = Receiver(status=410)
    watcher = Receiver()
    callback = await flows.subscribe(pipeline, api, gone)
    await flows.subscribe(pipeline, api, watcher)
    await _debit(api)
    disabled = await watcher.wait_for("callback.disabled", callback["id"])
    assert disabled.event["entity"]["callbacks"][0]["id"] == callback["id"]
    health = await _health(api, callback["id"])
    assert not health["enabled"] and "410" in health["disabled_reason"]
    count = len(gone.deliveries)
    await watcher.wait_for("debit.succeeded", await _debit(api))
    assert len(gone.deliveries) == count


async def test_callback_failing_too_long_is_disabled_then_enabled_and_caught_up(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    receiver = Receiver(status=500)
    callback = await flows.subscribe(pipeline, api, receiver)
    # It has been failing for longer than the limit (days, in production): one more failure
    # disables it.
    await pipeline.pool.execute(
        "UPDATE callbacks SET failing_since = now() - interval '6 days' WHERE id = $1",
        callback["id"],
    )
    since = time.time()
    missed = await _debit(api)
    await eventually(lambda: _disabled(api, callback["id"]))
    receiver.status = 200
    enabled = await api.post(f"/callbacks/{callback['id']}/enable", {})
    assert enabled.status == 200 and enabled.body["callback_health"][0]["enabled"]
    until = time.time() + 1
    window = {"since": _iso(since - 1), "until": _iso(until)}
    queued = await api.post(f"/callbacks/{callback['id']}/redeliveries", window)
    assert queued.status == 202 and queued.body["redeliveries"][0]["queued"] >= 2
    await receiver.wait_for("debit.succeeded", missed)


async def _disabled(api: Api, callback_id: str) -> bool:
    return not (await _health(api, callback_id))["enabled"]


def _iso(moment_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment_s))


async def test_one_event_can_be_redelivered(pipeline: Pipeline, marketplace: Marketplace) -> None:
    api = marketplace.api
    receiver = Receiver()
    callback = await flows.subscribe(pipeline, api, receiver)
    first = await receiver.wait_for("debit.succeeded", await _debit(api))

    async def recorded() -> bool:
        # The receiver has the request before the worker records it as delivered; a
        # redelivery asked for in between would fold into the delivery in flight.
        body = (await api.get(f"/events/{first.event['id']}/callbacks")).body
        return bool(body["event_callbacks"][0]["status"] == "succeeded")

    await eventually(recorded)
    again = await api.post(
        f"/callbacks/{callback['id']}/redeliveries", {"event": first.event["id"]}
    )
    assert again.status == 202
    await receiver.wait_until(
        lambda: (
            len([d for d in receiver.deliveries if d.headers["webhook-id"] == first.event["id"]])
            == 2
        )
    )


async def test_sequence_numbers_order_each_entitys_events(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    receiver = Receiver()
    await flows.subscribe(pipeline, marketplace.api, receiver)
    debit_id = await _debit(marketplace.api)
    created = await receiver.wait_for("debit.created", debit_id)
    succeeded = await receiver.wait_for("debit.succeeded", debit_id)
    assert (created.event["sequence"], succeeded.event["sequence"]) == (1, 2)
    listed = (await marketplace.api.get(f"/debits/{debit_id}/events")).body["events"]
    assert [e["type"] for e in listed] == ["debit.created", "debit.succeeded"]


async def test_receiver_down_for_a_while_gets_every_event_once_after_dedup(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    receiver = Receiver(outage_requests=4)
    await flows.subscribe(pipeline, marketplace.api, receiver)
    debits = [await _debit(marketplace.api) for _ in range(3)]
    for debit_id in debits:
        await receiver.wait_for("debit.succeeded", debit_id)
    await receiver.wait_until(
        lambda: sum(1 for d in receiver.deliveries if d.event["type"] == "debit.created") >= 3
    )
    seen: dict[str, Delivery] = {}
    for delivery in receiver.deliveries:
        seen.setdefault(delivery.headers["webhook-id"], delivery)
    types = sorted(d.event["type"] for d in seen.values() if d.entity_id in debits)
    assert types == ["debit.created"] * 3 + ["debit.succeeded"] * 3


async def test_a_slow_receiver_holds_no_more_than_its_slots(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    timeout_s = pipeline.settings.callback_timeout_ms / 1000
    slow = Receiver(delay_s=timeout_s * 0.8)
    fast = Receiver()
    await flows.subscribe(pipeline, api, slow)
    await flows.subscribe(pipeline, api, fast)
    in_flight: list[int] = []
    original = slow._handle

    async def counting(request: Any) -> Any:
        in_flight.append(1)
        try:
            slow.max_in_flight = max(getattr(slow, "max_in_flight", 0), len(in_flight))
            return await original(request)
        finally:
            in_flight.pop()

    slow._handle = counting  # type: ignore[method-assign]
    debits = await asyncio.gather(*(_debit(api) for _ in range(6)))
    started = asyncio.get_running_loop().time()
    for debit_id in debits:
        await fast.wait_for("debit.succeeded", debit_id)
    fast_done_s = asyncio.get_running_loop().time() - started
    assert fast_done_s < timeout_s * 2
    for debit_id in debits:
        await slow.wait_for("debit.succeeded", debit_id, timeout_s=30)
    assert getattr(slow, "max_in_flight", 0) <= pipeline.settings.callback_concurrency_max


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://localhost:8080/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://192.168.0.1/",
        "ftp://example.com/x",
        "http://user:pass@example.com/x",
        "not a url",
    ],
)
async def test_internal_or_odd_callback_urls_are_refused(
    pipeline: Pipeline, marketplace: Marketplace, url: str
) -> None:
    with pytest.raises(ssrf.UnsafeUrl):
        await ssrf.check_url(url, allow_private=False)
    strict = pipeline.settings.model_copy(update={"callbacks_allow_private": False})
    server = TestServer(create_app(strict), host="127.0.0.1")
    await server.start_server()
    try:
        api = Api(pipeline.http, str(server.make_url("")).rstrip("/"), marketplace.secret)
        response = await api.post("/callbacks", {"url": url})
        assert response.status == 400, response.body
        assert response.body["errors"][0]["category_code"] == "request"
    finally:
        await server.close()


async def test_redirects_are_not_followed(pipeline: Pipeline, marketplace: Marketplace) -> None:
    target = Receiver()
    target_server = await pipeline.serve(target.app())
    redirecting = Receiver(
        script=[Answer(307, headers={"Location": str(target_server.make_url("/x"))})] * 4
    )
    callback = await flows.subscribe(pipeline, marketplace.api, redirecting)
    debit_id = await _debit(marketplace.api)
    delivery = await redirecting.wait_for("debit.created", debit_id)
    logs = await eventually(lambda: _logs(marketplace.api, delivery, callback["id"]))
    assert logs[0]["response_status"] == 307
    assert target.deliveries == []


async def test_a_stuck_receiver_is_stalled_and_catches_up_once_it_answers(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    api = marketplace.api
    timeout_s = pipeline.settings.callback_timeout_ms / 1000
    stuck = Receiver(delay_s=timeout_s * 2)
    healthy = Receiver()
    callback = await flows.subscribe(pipeline, api, stuck)
    await flows.subscribe(pipeline, api, healthy)
    debits = [await _debit(api) for _ in range(12)]
    for debit_id in debits:
        await healthy.wait_for("debit.succeeded", debit_id)

    async def stalled() -> bool:
        until = await pipeline.pool.fetchval(
            "SELECT stalled_until FROM callbacks WHERE id = $1", callback["id"]
        )
        return until is not None

    await eventually(stalled)
    stuck.delay_s = 0.0
    for debit_id in debits:
        await stuck.wait_for("debit.succeeded", debit_id, timeout_s=30)
    assert (await _health(api, callback["id"]))["enabled"]
