"""SIGTERM, the way a deployment stops a process: the API finishes the requests it has
taken before it exits; the workers take no new job, let the jobs they run finish, and
hand back (to the queue, or through the outbox) what cannot finish; processes started
again carry on from there with nothing stuck and nothing done twice."""

from __future__ import annotations

import asyncio
import signal
import uuid

import aiohttp
import asyncpg
import redis.asyncio as redis_asyncio
from arq.constants import in_progress_key_prefix

from ledger import audit, protocol
from tests.faults.checks import eventually
from tests.faults.system import STOP_TIMEOUT_S, System
from tests.faults.traffic import ACCOUNT_STAYS_PENDING, Answer, Marketplace, fund_order

# Requests held in flight: fewer than the API's database connections, so that each one
# holds a connection and waits inside its transaction.
REQUESTS = 6
CREDIT_CENTS = 100
WAIT_S = 30.0
# Answers held back this long keep the workers' submissions in flight: less than a job
# may run in this suite (conftest.CI_TUNING: 3 s), and than a worker waits for its jobs
# on SIGTERM (workers.main.SHUTDOWN_JOB_WAIT_S: 5 s) ...
RAIL_DELAY_S = 1.0
# ... or longer than a job may run: the job times out during the wait, and its outbox row
# stays open for the next worker.
SLOWER_THAN_A_JOB_S = 4.0


async def test_sigterm_to_the_api_finishes_the_requests_it_has_taken(
    system: System, marketplace: Marketplace
) -> None:
    funded = await fund_order(marketplace, "Ada Lovelace", REQUESTS * CREDIT_CENTS)
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    body = {"amount": CREDIT_CENTS, "order": funded.order_id}
    requests: list[asyncio.Task[Answer]] = []
    blocker = await system.connect()
    try:
        # Hold the order's escrow row: every credit request blocks inside its transaction.
        held = blocker.transaction()
        await held.start()
        await blocker.execute(
            "SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE", funded.order_id
        )
        requests += [
            asyncio.create_task(
                marketplace.client.once("POST", path, body, idempotency_key=str(uuid.uuid4()))
            )
            for _ in range(REQUESTS)
        ]
        await eventually(
            lambda: _taken(blocker, marketplace.id, REQUESTS),
            WAIT_S,
            "the API has taken every request",
        )
        system.api.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        assert await _refused_while_stopping(system), "a stopping API takes no new request"
        assert system.api.running, "the API waits for the requests it has taken"
        await held.rollback()
        exit_code = await asyncio.wait_for(system.api.process.wait(), STOP_TIMEOUT_S)  # type: ignore[union-attr]
        answers = await asyncio.gather(*requests)
    finally:
        await blocker.close()
        for request in requests:
            request.cancel()
        await asyncio.gather(*requests, return_exceptions=True)
    assert exit_code == 0
    assert [answer.status for answer in answers] == [201] * REQUESTS
    await system.start_api()
    rows = await system.fetch(
        "SELECT count(*) AS n FROM transactions WHERE order_id = $1 AND kind = 'credit'",
        funded.order_id,
    )
    assert rows[0]["n"] == REQUESTS
    connection = await system.connect()
    try:
        assert await audit.violations(connection) == []
    finally:
        await connection.close()


async def _taken(connection: asyncpg.Connection, marketplace_id: str, count: int) -> bool:
    """Whether the API is handling `count` requests: each has claimed its Idempotency-Key
    (before its transaction, which then waits on the held row)."""
    claimed = await connection.fetchval(
        "SELECT count(*) FROM idempotency_keys WHERE marketplace_id = $1 AND state = 'in_progress'",
        marketplace_id,
    )
    return bool(claimed == count)


async def _refused_while_stopping(system: System) -> bool:
    """Whether a new connection to the stopping API is refused (polled: the signal takes a
    moment to be handled)."""

    async def refused() -> bool:
        try:
            async with aiohttp.ClientSession() as session, session.get(f"{system.api_url}/healthz"):
                return False
        except aiohttp.ClientConnectionError:
            return True

    return bool(await eventually(refused, WAIT_S, "the stopping API refuses new connections"))


async def _credits_in_flight(system: System, marketplace: Marketplace) -> list[str]:
    """Three credits whose submissions are in flight at the rail (held by the gate). The
    rail decides nothing on its own for them, so no outcome overtakes a submission."""
    funded = await fund_order(marketplace, "Ada Lovelace", 3 * CREDIT_CENTS, ACCOUNT_STAYS_PENDING)
    path = f"/bank_accounts/{funded.bank_account_id}/credits"
    credit_ids = [
        (await marketplace.client.post(path, {"amount": CREDIT_CENTS, "order": funded.order_id}))[
            "credits"
        ][0]["id"]
        for _ in range(3)
    ]

    async def in_flight() -> bool:
        return all(system.gate.attempts_for(credit_id) for credit_id in credit_ids)

    await eventually(in_flight, WAIT_S, "every submission is in flight at the rail")
    return credit_ids


async def _stop_workers(system: System) -> None:
    codes = await asyncio.gather(
        *(worker.signal(signal.SIGTERM, STOP_TIMEOUT_S) for worker in system.workers)
    )
    assert codes == [0] * len(system.workers), [worker.log_tail() for worker in system.workers]


async def _recorded(system: System, credit_ids: list[str]) -> list[str]:
    """The credits whose submission our side has recorded, with its job done (gone)."""
    rows = await system.fetch(
        """SELECT t.id FROM transactions t
           WHERE t.id = ANY($1::text[]) AND t.rail_trace_number IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = 'submit:' || t.id)""",
        credit_ids,
    )
    return sorted(row["id"] for row in rows)


async def _assert_no_job_held(system: System, credit_ids: list[str]) -> None:
    """No job is left marked in progress by a worker that is gone (it would wait out arq's
    in-progress timeout before anyone could run it)."""
    redis = redis_asyncio.from_url(system.redis_url)
    try:
        held = await redis.keys(in_progress_key_prefix + protocol.SUBMIT_BATCH + "*")
        assert held == []
    finally:
        await redis.aclose()


async def test_sigterm_to_the_workers_lets_their_jobs_in_flight_finish(
    system: System, marketplace: Marketplace
) -> None:
    system.gate.delay_s = RAIL_DELAY_S
    credit_ids = await _credits_in_flight(system, marketplace)
    await _stop_workers(system)
    assert await _recorded(system, credit_ids) == sorted(credit_ids)
    await _assert_no_job_held(system, credit_ids)


async def test_sigterm_to_the_workers_hands_back_what_cannot_finish_and_a_restart_runs_it(
    system: System, marketplace: Marketplace
) -> None:
    system.gate.delay_s = SLOWER_THAN_A_JOB_S
    credit_ids = await _credits_in_flight(system, marketplace)
    await _stop_workers(system)
    assert await _recorded(system, credit_ids) == []
    await _assert_no_job_held(system, credit_ids)
    await system.gate.heal()
    for worker in system.workers:
        await system.start_worker(worker)

    async def all_recorded() -> bool:
        return await _recorded(system, credit_ids) == sorted(credit_ids)

    await eventually(all_recorded, WAIT_S, "the restarted workers submit every credit")
    for credit_id in credit_ids:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{system.rail_url}/entries/{credit_id}") as answer,
        ):
            entry = await answer.json()
        rows = await system.fetch(
            "SELECT rail_trace_number FROM transactions WHERE id = $1", credit_id
        )
        assert entry["trace_number"] == rows[0]["rail_trace_number"]
