"""Actions: what a dashboard form does, as the API would do it.

An action runs one ledger function in one transaction (as an API view does), enqueues the
jobs it returns after the commit, and reports the ledger's refusal as the API's own error
description (`BalancedError.description`, the text Balanced clients see), for the page to
show in the `confirm` macro. Moving money goes through the very functions the API calls
(`ledger.debits.refund`, `ledger.credits.reverse`, ...), never around them.

    async def refund(request: web.Request) -> web.Response:
        form = await read_form(request)
        amount_cents = cents_field(form, "amount_cents")
        outcome = await actions.transfer(
            request,
            lambda connection: debits.refund(
                connection, context.marketplace_id(request), debit_id,
                transfers.TransferRequest(amount_cents=amount_cents, ...),
            ),
        )
        return await render(request, "orders/refund_form.html",
                            {"error": outcome.error, "done": outcome.done and "Refunded."})
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
from aiohttp import web

import jobqueue
from dashboard import context
from ledger.errors import BalancedError
from ledger.outbox import Job
from ledger.transfers import TransferResult

# How long an action waits for a database connection before its page says 503.
POOL_ACQUIRE_TIMEOUT_S = 5.0
# The longest amount a form may name: the ledger's own bound ($10,000,000,000.00).
AMOUNT_CENTS_MAX = 1_000_000_000_000

Result = TypeVar("Result")


@dataclass(frozen=True)
class Outcome(Generic[Result]):
    """What an action did: its result, or the API's description of why it was refused."""

    result: Result | None
    error: str | None

    @property
    def done(self) -> bool:
        return self.error is None


@asynccontextmanager
async def transaction(request: web.Request) -> AsyncIterator[asyncpg.Connection]:
    pool = context.pool(request)
    async with (
        pool.acquire(timeout=POOL_ACQUIRE_TIMEOUT_S) as connection,
        connection.transaction(),
    ):
        yield connection


async def enqueue(request: web.Request, jobs: list[Job]) -> None:
    """Put committed outbox jobs on the queue (a lost enqueue is swept up later)."""
    if jobs:
        await jobqueue.enqueue(context.redis(request), jobs, context.settings(request).queue_name)


async def run(
    request: web.Request,
    work: Callable[[asyncpg.Connection], Awaitable[tuple[Result, list[Job]]]],
) -> Outcome[Result]:
    """`work` in one transaction, returning (result, jobs); the jobs enqueued after the
    commit; a ledger refusal (BalancedError) becomes the Outcome's error, nothing written."""
    try:
        async with transaction(request) as connection:
            result, jobs = await work(connection)
    except BalancedError as error:
        return Outcome(None, error.description)
    await enqueue(request, jobs)
    return Outcome(result, None)


async def transfer(
    request: web.Request,
    move: Callable[[asyncpg.Connection], Awaitable[TransferResult]],
) -> Outcome[TransferResult]:
    """A ledger function that moves money (it returns a TransferResult): a transfer the
    ledger records as failed (e.g. a card declined) is committed, with its jobs, and
    reported as refused with the error the API would answer beside it."""

    async def work(connection: asyncpg.Connection) -> tuple[TransferResult, list[Job]]:
        result = await move(connection)
        return result, result.jobs

    outcome = await run(request, work)
    if outcome.result is not None and outcome.result.error is not None:
        return Outcome(outcome.result, outcome.result.error.description)
    return outcome


def cents(text: str | None) -> int | None:
    """A form's amount in integer cents (`1234`), or None when it is not one in bounds."""
    if text is None or not text.isdigit() or len(text) > len(str(AMOUNT_CENTS_MAX)):
        return None
    value = int(text)
    return value if 1 <= value <= AMOUNT_CENTS_MAX else None
