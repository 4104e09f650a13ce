"""The rail's HTTP contract, end to end over loopback, with a real notification receiver."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRET, Rail, Receiver, entry_body
from standardwebhooks.webhooks import Webhook

from rails.rules import draw


def seeded_draws(seed: int, count: int) -> list[float]:
    return [draw(seed, 0, f"CR-{index}") for index in range(count)]


async def test_credit_to_9900000002_settles(rail: Rail, receiver: Receiver) -> None:
    status, entry = await rail.submit(notify_url=receiver.url)
    assert (status, entry["status"]) == (201, "pending")
    notification = await receiver.next()
    assert notification["type"] == "entry.settled"
    assert notification["entry"]["status"] == "settled"
    assert notification["entry"]["trace_number"] == entry["trace_number"]


@pytest.mark.parametrize(
    ("kind", "code"), [("credit", "R03"), ("reversal", "R03"), ("debit", "R01")]
)
async def test_9900000004_is_returned_with_kind_specific_code(
    rail: Rail, receiver: Receiver, kind: str, code: str
) -> None:
    await rail.submit(account_number="9900000004", kind=kind, notify_url=receiver.url)
    notification = await receiver.next()
    assert notification["type"] == "entry.returned"
    assert notification["entry"]["return_code"] == code
    assert notification["entry"]["settled_at"] is None
    _, entry = await rail.call("GET", "/entries/CR-1")
    assert entry["status"] == "returned"
    assert entry["return_reason"] in ("Insufficient Funds", "No Account/Unable to Locate Account")


async def test_9900000000_stays_pending_whatever_the_clock(rail: Rail) -> None:
    await rail.call("PUT", "/clock", {"frozen": True})
    await rail.submit(account_number="9900000000")
    await rail.call("POST", "/clock/advance", {"banking_days": 60})
    _, entry = await rail.call("GET", "/entries/CR-1")
    assert entry["status"] == "pending"
    assert len(rail.bank.scheduler) == 0


async def test_resubmission_returns_the_same_trace_number(rail: Rail) -> None:
    first_status, first = await rail.submit()
    again_status, again = await rail.submit()
    assert (first_status, again_status) == (201, 200)
    assert again["trace_number"] == first["trace_number"]
    assert len(first["trace_number"]) == 15


async def test_same_id_with_a_different_body_is_409(rail: Rail) -> None:
    await rail.submit()
    status, body = await rail.submit(amount_cents=999)
    assert status == 409
    assert "different body" in body["error"]


async def test_notifications_verify_with_standardwebhooks(rail: Rail, receiver: Receiver) -> None:
    await rail.submit(notify_url=receiver.url)
    body, raw, headers = await receiver.next_raw()
    assert Webhook(SECRET).verify(raw, headers) == body
    assert headers["webhook-id"] == body["id"]
    assert body["id"].endswith(f"-{body['entry']['trace_number']}-1")
    assert body["occurred_at"] == body["entry"]["settled_at"]


async def test_late_return_sends_settled_then_returned(rail: Rail, receiver: Receiver) -> None:
    rules = [{"action": "return", "code": "R10", "late_return_after_banking_days": 5}]
    assert (await rail.call("PUT", "/rules", rules))[0] == 200
    await rail.submit(notify_url=receiver.url)
    settled, returned = await receiver.next(), await receiver.next()
    assert (settled["type"], returned["type"]) == ("entry.settled", "entry.returned")
    assert returned["entry"]["settled_at"] is not None
    assert returned["entry"]["return_code"] == "R10"


async def test_simulated_settle_forces_settlement(rail: Rail, receiver: Receiver) -> None:
    await rail.submit(account_number="9900000000", notify_url=receiver.url)
    status, entry = await rail.call("POST", "/simulations/entries/CR-1/settle")
    assert (status, entry["status"]) == (200, "settled")
    assert (await receiver.next())["type"] == "entry.settled"
    assert (await rail.call("POST", "/simulations/entries/CR-1/settle"))[0] == 409


async def test_simulated_return_after_settlement_is_a_late_return(
    rail: Rail, receiver: Receiver
) -> None:
    await rail.submit(notify_url=receiver.url)
    assert (await receiver.next())["type"] == "entry.settled"
    status, entry = await rail.call("POST", "/simulations/entries/CR-1/return", {"code": "R01"})
    assert (status, entry["status"], entry["return_code"]) == (200, "returned", "R01")
    assert (await receiver.next())["entry"]["returned_at"] is not None
    again, _ = await rail.call("POST", "/simulations/entries/CR-1/return", {"code": "R01"})
    assert again == 409


async def test_simulated_return_cancels_the_scheduled_outcome(rail: Rail) -> None:
    await rail.call("PUT", "/clock", {"frozen": True})
    await rail.submit()
    await rail.call("POST", "/simulations/entries/CR-1/return", {})
    await rail.call("POST", "/clock/advance", {"banking_days": 2})
    _, entry = await rail.call("GET", "/entries/CR-1")
    assert (entry["status"], entry["return_code"], entry["settled_at"]) == ("returned", "R03", None)


async def test_simulated_correction_sends_a_noc(rail: Rail, receiver: Receiver) -> None:
    await rail.submit(account_number="9900000000", notify_url=receiver.url)
    body = {"code": "C01", "corrected_data": "1234567890"}
    status, entry = await rail.call("POST", "/simulations/entries/CR-1/correct", body)
    assert (status, entry["correction_code"], entry["status"]) == (200, "C01", "pending")
    notification = await receiver.next()
    assert notification["type"] == "entry.corrected"
    assert notification["entry"]["corrected_data"] == "1234567890"


@pytest.mark.parametrize(
    ("path", "body"),
    [("return", {"code": "R99"}), ("correct", {"code": "C99", "corrected_data": "1"})],
)
async def test_simulations_with_unknown_codes_are_400(rail: Rail, path: str, body: Any) -> None:
    await rail.submit(account_number="9900000000")
    status, error = await rail.call("POST", f"/simulations/entries/CR-1/{path}", body)
    assert status == 400
    assert "unknown" in error["error"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("settle", None),
        ("return", {"code": "R01"}),
        ("correct", {"code": "C01", "corrected_data": "1"}),
    ],
)
async def test_simulations_on_unknown_entries_are_404(rail: Rail, path: str, body: Any) -> None:
    assert (await rail.call("POST", f"/simulations/entries/nope/{path}", body))[0] == 404


async def test_frozen_clock_advance_fires_due_outcomes(rail: Rail) -> None:
    # Wednesday 17:00 ET, after the last same-day cut-off: the next-day window applies.
    _, clock = await rail.call("PUT", "/clock", {"frozen": True, "now": "2026-11-25T22:00:00Z"})
    assert (clock["mode"], clock["now"]) == ("frozen", "2026-11-25T22:00:00.000Z")
    await rail.submit()
    await rail.call("POST", "/clock/advance", {"ms": 3_600_000})
    assert (await rail.call("GET", "/entries/CR-1"))[1]["status"] == "pending"
    _, clock = await rail.call("POST", "/clock/advance", {"banking_days": 1})
    _, entry = await rail.call("GET", "/entries/CR-1")
    # Thanksgiving (11-26) is skipped: it settles on Friday at 08:30 ET, its due time.
    assert entry["settled_at"] == "2026-11-27T13:30:00.000Z"
    assert clock["now"] == "2026-11-27T23:00:00.000Z"


async def test_entry_before_a_same_day_cutoff_settles_that_afternoon(rail: Rail) -> None:
    # 09:00 ET: the 10:30 cut-off is caught, and its window settles at 13:00 ET.
    await rail.call("PUT", "/clock", {"frozen": True, "now": "2026-03-02T14:00:00Z"})
    _, clock = await rail.call("GET", "/clock")
    assert clock["next_window"] == {
        "name": "same-day-1",
        "cutoff": "2026-03-02T15:30:00.000Z",
        "settlement": "2026-03-02T18:00:00.000Z",
    }
    await rail.submit()
    await rail.call("POST", "/clock/advance", {"ms": 4 * 3_600_000})
    _, entry = await rail.call("GET", "/entries/CR-1")
    assert (entry["status"], entry["settled_at"]) == ("settled", "2026-03-02T18:00:00.000Z")


async def test_delay_postpones_the_outcome_by_simulated_time(rail: Rail) -> None:
    rules = [{"action": "return", "code": "R10", "delay_ms": 12 * 3_600_000}]
    assert (await rail.call("PUT", "/rules", rules))[0] == 200
    await rail.call("PUT", "/clock", {"frozen": True, "now": "2026-03-02T14:00:00Z"})
    await rail.submit()
    await rail.call("POST", "/clock/advance", {"ms": 4 * 3_600_000})
    assert (await rail.call("GET", "/entries/CR-1"))[1]["status"] == "pending"
    await rail.call("POST", "/clock/advance", {"ms": 12 * 3_600_000})
    _, entry = await rail.call("GET", "/entries/CR-1")
    assert (entry["status"], entry["returned_at"]) == ("returned", "2026-03-03T06:00:00.000Z")


async def test_probabilistic_rule_fails_a_seeded_share_of_entries(rail: Rail) -> None:
    rules = [{"action": "return", "code": "R01", "probability": 0.25, "seed": 7}]
    assert (await rail.call("PUT", "/rules", rules))[0] == 200
    returned = []
    for index in range(400):
        _, entry = await rail.submit(id=f"CR-{index}")
        await rail.bank.scheduler.drain()
        _, entry = await rail.call("GET", f"/entries/CR-{index}")
        returned.append(entry["status"] == "returned")
    assert 70 <= sum(returned) <= 130
    # Deterministic: the same seed and ids give the same entries on another rail.
    assert returned[:8] == [draw < 0.25 for draw in seeded_draws(7, 8)]


async def test_accelerated_clock_settles_after_wall_delay(rail: Rail, receiver: Receiver) -> None:
    _, clock = await rail.call("PUT", "/clock", {"day_ms": 40})
    assert (clock["mode"], clock["day_ms"]) == ("accelerated", 40)
    await rail.submit(notify_url=receiver.url)
    assert (await rail.call("GET", "/entries/CR-1"))[1]["status"] == "pending"
    assert (await receiver.next())["type"] == "entry.settled"


@pytest.mark.parametrize(
    "body",
    [{}, {"banking_days": 1, "ms": 5}, {"banking_days": -1}, {"ms": 1.5}],
)
async def test_invalid_clock_advances_are_400(rail: Rail, body: dict[str, Any]) -> None:
    assert (await rail.call("POST", "/clock/advance", body))[0] == 400


async def test_clock_never_goes_back_once_entries_exist(rail: Rail) -> None:
    assert (await rail.call("PUT", "/clock", {"now": "2001-01-01T00:00:00Z"}))[0] == 200
    await rail.submit()
    status, body = await rail.call("PUT", "/clock", {"now": "2000-01-01T00:00:00Z"})
    assert status == 400
    assert "back" in body["error"]


async def test_put_rules_replaces_the_rules(rail: Rail, receiver: Receiver) -> None:
    rules = [{"match": {"amount_cents_min": 1000}, "action": "return", "code": "R02"}]
    status, stored = await rail.call("PUT", "/rules", rules)
    assert (status, stored) == (200, [{**rules[0], "after_banking_days": 1}])
    assert (await rail.call("GET", "/rules"))[1] == stored
    await rail.submit(notify_url=receiver.url)
    assert (await receiver.next())["entry"]["return_code"] == "R02"


@pytest.mark.parametrize(
    "rules", [{"action": "succeed"}, [{"action": "return", "code": "R77x"}], [{"act": "x"}]]
)
async def test_invalid_rules_are_400(rail: Rail, rules: Any) -> None:
    status, body = await rail.call("PUT", "/rules", rules)
    assert status == 400
    assert body["error"]


async def test_rules_from_a_toml_file_apply(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\naction = "correct"\ncode = "C02"\ncorrected_data = "021000021"\n')
    async with make_rail(rules_path=str(path)) as rail:
        await rail.submit(notify_url=receiver.url)
        settled, corrected = await receiver.next(), await receiver.next()
    assert (settled["type"], corrected["type"]) == ("entry.settled", "entry.corrected")
    assert corrected["entry"]["correction_code"] == "C02"


@pytest.mark.parametrize(
    "changes",
    [
        {"id": ""},
        {"id": "x" * 65},
        {"id": "has space"},
        {"kind": "wire"},
        {"routing_number": "02100002"},
        {"routing_number": "02100002a"},
        {"account_number": "123"},
        {"account_number": "1" * 18},
        {"amount_cents": 0},
        {"amount_cents": 10**12 + 1},
        {"amount_cents": "100"},
        {"amount_cents": 100.0},
        {"amount_cents": True},
        {"notify_url": "ftp://example.com/"},
        {"extra": 1},
    ],
)
async def test_invalid_entry_bodies_are_400(rail: Rail, changes: dict[str, Any]) -> None:
    status, body = await rail.call("POST", "/entries", entry_body(**changes))
    assert status == 400
    assert body["error"]


async def test_non_json_body_is_400(rail: Rail) -> None:
    async with rail.client.post("/entries", data=b"{not json") as response:
        assert response.status == 400
        assert "error" in await response.json()


async def test_unknown_entry_is_404(rail: Rail) -> None:
    status, body = await rail.call("GET", "/entries/NOPE")
    assert (status, body) == (404, {"error": "no such entry"})


async def test_notifications_are_retried_until_accepted(rail: Rail, receiver: Receiver) -> None:
    receiver.fail_next = 2
    await rail.submit(notify_url=receiver.url)
    assert (await receiver.next())["type"] == "entry.settled"
    assert receiver.attempts == 3


async def test_notification_ids_differ_between_rail_boots(
    make_rail: Callable[..., AbstractAsyncContextManager[Rail]], receiver: Receiver
) -> None:
    ids = []
    for _ in range(2):
        async with make_rail() as rail:
            await rail.submit(notify_url=receiver.url)
            ids.append((await receiver.next())["id"])
    assert ids[0] != ids[1]


async def test_healthz_counts_entries(rail: Rail) -> None:
    await rail.call("PUT", "/clock", {"frozen": True})
    await rail.submit()
    status, body = await rail.call("GET", "/healthz")
    assert status == 200
    assert (body["status"], body["entries"], body["scheduled"]) == ("ok", 1, 1)


async def test_healthz_counts_resubmissions_answered_with_the_stored_entry(rail: Rail) -> None:
    first_status, first = await rail.submit()
    again_status, again = await rail.submit()
    assert (first_status, again_status) == (201, 200)
    assert again["trace_number"] == first["trace_number"]
    status, body = await rail.call("GET", "/healthz")
    assert status == 200
    assert (body["entries"], body["resubmissions"]) == (1, 1)
