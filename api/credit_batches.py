"""Credits to bank accounts made together: the concurrent `POST /bank_accounts/{id}/credits`
of one API process share a transaction, with one statement per step for them all
(`ledger.credits.credit_bank_accounts`) instead of seven round trips each (issue 11).

Batches form by themselves, without waiting: a credit that finds fewer than
BATCHES_IN_FLIGHT_MAX batches running starts one at once (alone, at low load); the credits
arriving while the batches run wait for the next. So a batch is as large as the load made
it, and a quiet API answers as fast as before.

A batch is an optimisation, never a different answer: a credit its escrow cannot cover
after the credits before it, or every credit of a batch whose transaction failed before
its commit (a deadlock, a lost connection), is made alone afterwards, on the same path as
a request that carries an Idempotency-Key (those never join a batch: their key is held in
their own transaction). A batch whose COMMIT itself failed is never made again: it may
have committed, so each of its requests gets the error a lone request would."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from arq.connections import ArqRedis

import jobqueue
from ledger import credits
from ledger.outbox import Job

log = logging.getLogger(__name__)

# Credits in one batch. It bounds the arrays of each statement and how long a batch holds
# the escrows it locks; beyond ~100 the round trips saved per credit no longer show.
BATCH_CREDITS_MAX = 100
# Batches of one process running at once: two keep the database busy while one waits on a
# round trip; more would split the load into smaller batches.
BATCHES_IN_FLIGHT_MAX = 2
# How long a batch waits for a database connection before its credits are made alone
# (which waits, and answers 503, as any request does).
POOL_ACQUIRE_TIMEOUT_S = 5.0

Waiting = tuple[credits.BankAccountCredit, "asyncio.Future[credits.BatchedCredit]"]


class CreditBatcher:
    def __init__(self, pool: asyncpg.Pool, redis: ArqRedis, queue_name: str) -> None:
        self._pool, self._redis, self._queue_name = pool, redis, queue_name
        self._waiting: list[Waiting] = []
        self._running: set[asyncio.Task[None]] = set()
        # Sizes of the batches made, for tests and benchmarks to see that batches form.
        self.sizes: list[int] = []

    async def credit(self, wanted: credits.BankAccountCredit) -> credits.BatchedCredit:
        """Make `wanted` in the next batch: its result, the error refusing it, or None
        when the caller is to make it alone."""
        future: asyncio.Future[credits.BatchedCredit] = asyncio.get_running_loop().create_future()
        self._waiting.append((wanted, future))
        self._start()
        return await future

    def _start(self) -> None:
        while self._waiting and len(self._running) < BATCHES_IN_FLIGHT_MAX:
            batch = self._waiting[:BATCH_CREDITS_MAX]
            del self._waiting[:BATCH_CREDITS_MAX]
            task = asyncio.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._start()

    async def _run(self, batch: list[Waiting]) -> None:
        self.sizes.append(len(batch))
        futures = [future for _, future in batch]
        try:
            answers, jobs = await self._make(batch)
        except _CommitUnknown as unknown:
            # The commit may have happened: making the credits again could pay twice. Each
            # request answers as a lone request whose commit failed does (a 503).
            for future in futures:
                if not future.done():  # A client that left has its future cancelled.
                    future.set_exception(unknown.error)
            return
        except Exception as error:  # Nothing of the batch committed: each is made alone.
            if isinstance(error, asyncpg.CheckViolationError):
                # An escrow spent between the batch's read and its posting.
                log.info("an escrow changed under a batch of %d credits", len(batch))
            else:
                log.warning("a batch of %d credits failed", len(batch), exc_info=True)
            answers, jobs = [None] * len(batch), []
        await jobqueue.enqueue(self._redis, jobs, self._queue_name)
        for future, answer in zip(futures, answers, strict=True):
            if not future.done():
                future.set_result(answer)

    async def _make(self, batch: list[Waiting]) -> tuple[list[credits.BatchedCredit], list[Job]]:
        """The batch in one transaction; raises _CommitUnknown when the commit failed,
        anything else when nothing was committed."""
        async with self._pool.acquire(timeout=POOL_ACQUIRE_TIMEOUT_S) as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                made = await credits.credit_bank_accounts(
                    connection, [wanted for wanted, _ in batch]
                )
            except BaseException:
                await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except Exception as error:
                raise _CommitUnknown(error) from error
            return made

    async def close(self) -> None:
        """Let the batches running finish (they hold connections of the pool)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)


class _CommitUnknown(Exception):
    """The batch's COMMIT failed: whether it took effect is unknown."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
