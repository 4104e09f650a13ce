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

import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg
from aiohttp import web

import jobqueue
from dashboard import context
from ledger import idempotency
from ledger.errors import BalancedError
from ledger.outbox import Job
from ledger.transfers import TransferResult

# How long an action waits for a database connection before its page says 503.
POOL_ACQUIRE_TIMEOUT_S = 5.0
# The longest amount a form may name: the ledger's own bound ($10,000,000,000.00).
AMOUNT_CENTS_MAX = 1_000_000_000_000

# A form that moves money is single-use: it carries a nonce made when it was rendered
# (field FORM_NONCE_FIELD), claimed in the ledger's idempotency table (key prefixed, so it
# never meets an API client's key) in the action's own transaction. The same form posted
# again — a double click, a resubmit, a replayed request — moves nothing and is told what
# the first submission answered. The table forgets keys after its retention (hours).
FORM_NONCE_FIELD = "form_nonce"
NONCE_KEY_PREFIX = "dashboard-form:"
NONCE_BYTES = 24
NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")

Result = TypeVar("Result")


def new_nonce() -> str:
    """A fresh one-time nonce for a form (templates call it through `form_nonce()`)."""
    return secrets.token_urlsafe(NONCE_BYTES)


def nonce(text: str | None) -> str | None:
    """A posted nonce, or None when it is not one we could have made."""
    return text if text is not None and NONCE_PATTERN.fullmatch(text) else None


def _nonce_key(form_nonce: str) -> str:
    return NONCE_KEY_PREFIX + form_nonce


@dataclass(frozen=True)
class Outcome(Generic[Result]):
    """What an action did: its result, or the API's description of why it was refused."""

    result: Result | None
    error: str | None
    #: The form had been submitted before (its nonce was used): nothing ran this time.
    replayed: bool = False
    #: What the first submission answered (see `remember`), when it was kept.
    first_answer: str | None = None

    @property
    def done(self) -> bool:
        return self.error is None and not self.replayed


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


async def _replayed(request: web.Request, key: str) -> Outcome[Result]:
    row = await idempotency.get(context.pool(request), context.marketplace_id(request), key)
    body = row["response_body"] if row is not None else None
    return Outcome(None, None, replayed=True, first_answer=bytes(body).decode() if body else None)


async def run(
    request: web.Request,
    work: Callable[[asyncpg.Connection], Awaitable[tuple[Result, list[Job]]]],
    *,
    form_nonce: str | None = None,
) -> Outcome[Result]:
    """`work` in one transaction, returning (result, jobs); the jobs enqueued after the
    commit; a ledger refusal (BalancedError) becomes the Outcome's error, nothing written.

    With `form_nonce`, at most once per nonce: a nonce already used (or in use) runs
    nothing and answers a `replayed` Outcome. A refusal frees the nonce (nothing moved:
    the operator may correct and resubmit)."""
    if form_nonce is None:
        try:
            async with transaction(request) as connection:
                result, jobs = await work(connection)
        except BalancedError as error:
            return Outcome(None, error.description)
        await enqueue(request, jobs)
        return Outcome(result, None)
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    key = _nonce_key(form_nonce)
    token = await idempotency.claim(
        pool, marketplace_id, key, hashlib.sha256(key.encode()).digest()
    )
    if token is None:
        return await _replayed(request, key)
    try:
        async with transaction(request) as connection:
            # Row-locked until the commit, and marked in the same transaction as the
            # money moves: both commit or neither does.
            if not await idempotency.hold(connection, marketplace_id, key, token):
                return await _replayed(request, key)
            result, jobs = await work(connection)
            await idempotency.mark_committed(connection, marketplace_id, key, token)
    except BalancedError as error:
        await idempotency.release(pool, marketplace_id, key, token)
        return Outcome(None, error.description)
    except BaseException:
        await idempotency.release(pool, marketplace_id, key, token)
        raise
    await enqueue(request, jobs)
    return Outcome(result, None)


async def remember(request: web.Request, form_nonce: str, answer: str) -> None:
    """Keep what the form's first submission answered, for its replays to show."""
    await idempotency.store_response(
        context.pool(request),
        context.marketplace_id(request),
        _nonce_key(form_nonce),
        200,
        answer.encode(),
    )


async def transfer(
    request: web.Request,
    move: Callable[[asyncpg.Connection], Awaitable[TransferResult]],
    *,
    form_nonce: str | None = None,
) -> Outcome[TransferResult]:
    """A ledger function that moves money (it returns a TransferResult): a transfer the
    ledger records as failed (e.g. a card declined) is committed, with its jobs, and
    reported as refused with the error the API would answer beside it."""

    async def work(connection: asyncpg.Connection) -> tuple[TransferResult, list[Job]]:
        result = await move(connection)
        return result, result.jobs

    outcome = await run(request, work, form_nonce=form_nonce)
    if outcome.result is not None and outcome.result.error is not None:
        return Outcome(outcome.result, outcome.result.error.description)
    return outcome


def cents(text: str | None) -> int | None:
    """A form's amount in integer cents (`1234`), or None when it is not one in bounds."""
    if text is None or not text.isdigit() or len(text) > len(str(AMOUNT_CENTS_MAX)):
        return None
    value = int(text)
    return value if 1 <= value <= AMOUNT_CENTS_MAX else None
