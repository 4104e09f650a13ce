"""The rail unreachable, failing, slow, or losing its answers: transfers stay `pending`
(our own outage never fails a payment), submissions are retried with growing backoff
under the same entry id, the rail keeps one entry per transfer, and every transfer
completes once the rail is healthy again."""

from __future__ import annotations

import itertools
from typing import Any

import aiohttp

from ledger import protocol
from tests.faults.checks import eventually
from tests.faults.system import System
from tests.faults.traffic import ACCOUNT_STAYS_PENDING, ACCOUNT_SUCCEEDS, Marketplace, fund_order

CREDITS = 3
CREDIT_CENTS = 1000
WAIT_S = 30.0
# Longer than a job may run in this suite (see conftest.CI_TUNING): every submission
# times out, and is run again.
SLOWER_THAN_A_JOB_S = 4.0


async def _credits(marketplace: Marketplace, account_number: str = ACCOUNT_SUCCEEDS) -> list[str]:
    funded = await fund_order(marketplace, "Ada Lovelace", CREDITS * CREDIT_CENTS, account_number)
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    return [
        (await marketplace.client.post(path, {"amount": CREDIT_CENTS, "order": funded.order_id}))[
            "credits"
        ][0]["id"]
        for _ in range(CREDITS)
    ]


async def _statuses(marketplace: Marketplace, credit_ids: list[str]) -> list[dict[str, Any]]:
    return [
        (await marketplace.client.get(f"/credits/{credit_id}"))["credits"][0]
        for credit_id in credit_ids
    ]


async def _assert_pending(marketplace: Marketplace, credit_ids: list[str]) -> None:
    for credit in await _statuses(marketplace, credit_ids):
        assert (credit["status"], credit["failure_reason_code"]) == ("pending", None), credit


async def _all_succeed(marketplace: Marketplace, credit_ids: list[str]) -> None:
    async def succeeded() -> bool:
        credits = await _statuses(marketplace, credit_ids)
        return all(credit["status"] == "succeeded" for credit in credits)

    await eventually(succeeded, WAIT_S, "every credit succeeds once the rail is back")


async def _rail(system: System, path: str, method: str = "GET") -> dict[str, Any]:
    """Ask the rail itself (not through the gate)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            system.rail_url + path,
            headers={"Authorization": f"Bearer {system.rail_control_token}"},
        ) as answer,
    ):
        assert answer.status == 200, await answer.text()
        body: dict[str, Any] = await answer.json()
        return body


async def _settle_once_submitted(system: System, credit_ids: list[str]) -> None:
    """Entries to ACCOUNT_STAYS_PENDING wait for the rail to be told; once our side has
    recorded each submission, settle them there."""

    async def submitted() -> bool:
        rows = await system.fetch(
            "SELECT count(*) AS n FROM transactions "
            "WHERE id = ANY($1::text[]) AND rail_trace_number IS NOT NULL",
            credit_ids,
        )
        return bool(rows[0]["n"] == len(credit_ids))

    await eventually(submitted, WAIT_S, "every submission is recorded")
    for credit_id in credit_ids:
        await _rail(system, f"/simulations/entries/{credit_id}/settle", "POST")


async def _assert_one_entry_each(system: System, credit_ids: list[str]) -> None:
    """The rail's own records: one entry per credit, under our id, with our trace number."""
    traces = await system.fetch(
        "SELECT id, rail_trace_number FROM transactions WHERE id = ANY($1::text[])", credit_ids
    )
    for row in traces:
        entry = await _rail(system, f"/entries/{row['id']}")
        assert (entry["id"], entry["trace_number"]) == (row["id"], row["rail_trace_number"])


async def test_transfers_stay_pending_while_the_rail_is_unreachable_and_complete_after(
    system: System, marketplace: Marketplace
) -> None:
    await system.gate.down()
    credit_ids = await _credits(marketplace)

    async def tried_thrice() -> bool:
        # A submission the rail could not take counts its tries in its outbox row.
        rows = await system.fetch(
            "SELECT coalesce((args->>'tries')::int, 0) AS tries FROM outbox WHERE id = ANY($1)",
            [protocol.submit_job_id(credit_id) for credit_id in credit_ids],
        )
        return len(rows) == len(credit_ids) and all(row["tries"] >= 3 for row in rows)

    await eventually(tried_thrice, WAIT_S, "every submission was tried three times")
    await _assert_pending(marketplace, credit_ids)
    await system.gate.up()
    await _all_succeed(marketplace, credit_ids)
    await _assert_one_entry_each(system, credit_ids)


async def test_submissions_the_rail_refuses_are_retried_with_growing_backoff(
    system: System, marketplace: Marketplace
) -> None:
    system.gate.failing = True  # 503 for every submission.
    credit_ids = await _credits(marketplace)

    async def four_attempts() -> bool:
        return all(len(system.gate.attempts_for(credit_id)) >= 4 for credit_id in credit_ids)

    await eventually(four_attempts, WAIT_S, "four attempts at every submission")
    await _assert_pending(marketplace, credit_ids)
    for credit_id in credit_ids:
        attempts = system.gate.attempts_for(credit_id)[:4]
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        # Nominally 0.2, 0.4, 0.8 s (workers/transfers.py); scheduling adds a little to each.
        assert all(later > earlier for earlier, later in itertools.pairwise(gaps)), gaps
        assert gaps[-1] > 2.5 * gaps[0], gaps
    await system.gate.heal()
    await _all_succeed(marketplace, credit_ids)
    await _assert_one_entry_each(system, credit_ids)


async def test_a_rail_slower_than_a_job_may_run_leaves_transfers_pending_until_it_speeds_up(
    system: System, marketplace: Marketplace
) -> None:
    before = await _rail(system, "/healthz")
    system.gate.delay_s = SLOWER_THAN_A_JOB_S
    # Outcomes only when told: an outcome must not overtake the answers held back.
    credit_ids = await _credits(marketplace, ACCOUNT_STAYS_PENDING)

    async def submitted_twice() -> bool:
        return all(len(system.gate.attempts_for(credit_id)) >= 2 for credit_id in credit_ids)

    await eventually(submitted_twice, WAIT_S, "every submission was made twice")
    await _assert_pending(marketplace, credit_ids)
    await system.gate.heal()
    await _settle_once_submitted(system, credit_ids)
    await _all_succeed(marketplace, credit_ids)
    after = await _rail(system, "/healthz")
    assert after["entries"] - before["entries"] == CREDITS
    assert after["resubmissions"] - before["resubmissions"] >= CREDITS
    await _assert_one_entry_each(system, credit_ids)


async def test_a_lost_rail_answer_is_resubmitted_and_the_rail_keeps_one_entry(
    system: System, marketplace: Marketplace
) -> None:
    before = await _rail(system, "/healthz")
    system.gate.drop_first_answers = True
    # Outcomes only when told: with an immediate outcome the job run again finds the
    # transfer decided and only reads its trace number (see workers/transfers.py).
    credit_ids = await _credits(marketplace, ACCOUNT_STAYS_PENDING)
    await _settle_once_submitted(system, credit_ids)
    await _all_succeed(marketplace, credit_ids)
    after = await _rail(system, "/healthz")
    assert after["entries"] - before["entries"] == CREDITS
    assert after["resubmissions"] - before["resubmissions"] >= CREDITS
    assert system.gate.dropped >= set(credit_ids)
    await _assert_one_entry_each(system, credit_ids)
