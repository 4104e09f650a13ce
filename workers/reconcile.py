"""Reconciliation with the rail: the safety net under its pushed notifications.

The rail retries each notification for a while, but a long API outage can outlast it, and
a restarted rail may forget the entries it held. So every worker, now and then, asks the
rail about transfers that have stayed `pending` well past their submission: a decision the
rail made is applied as if it had been pushed (deduplicated with any push that did arrive,
since applying an outcome is a guarded transition).

An entry the rail does not know is the dangerous case. Submitting it again is idempotent
by our id only within what the rail remembers: a rail that restarted without a journal
has forgotten entries it may already have settled (sent to the bank), and a second
submission would be a second payment. So the rule is: submit again only what the rail
proves it never received, which it can only do through its journal (rails/store.py): the
rail says since when its journal holds every entry it accepted, and an entry it does not
know, of a transfer created after that moment, was never received. Anything else is left
pending and reported for an operator, who checks the bank's records (the rail's NACHA
files) and then either resolves it at the rail or clears its submission (README, known
limits) for the sweeper to submit it again."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import asyncpg
from arq.connections import ArqRedis

import jobqueue
from ledger import submissions
from ledger.outbox import Job
from ledger.records import RailOutcome
from rails.client import EntryReceipt, RailClient, RailUnavailable

log = logging.getLogger(__name__)

# Transfers one pass asks the rail about: bounds the pass; the least recently checked go
# first, so a transfer the rail keeps pending forever does not hide the others.
RECONCILE_BATCH_MAX = 100
# Clocks of the rail and of PostgreSQL may disagree by this much: a transfer counts as
# newer than the rail's journal only when created this long after the journal began.
CLOCK_SKEW_MAX = timedelta(minutes=1)
# What the rail's entry statuses mean as notifications.
DECIDED = {"settled": "entry.settled", "returned": "entry.returned"}


def _notification(receipt: EntryReceipt) -> RailOutcome:
    entry = receipt.model_dump(mode="json")
    return submissions.reconciled_notification(
        receipt.id, receipt.status, entry, DECIDED[receipt.status]
    )


def never_received(created_at: datetime, journal_since: datetime | None) -> bool:
    """Whether the rail's "no such entry" proves it never received a transfer created at
    `created_at`: only a journal older than the transfer covers every submission of it."""
    return journal_since is not None and created_at >= journal_since + CLOCK_SKEW_MAX


async def _decided(pool: asyncpg.Pool, receipt: EntryReceipt) -> list[Job]:
    if receipt.status not in DECIDED:
        return []
    return await submissions.accept_outcome(pool, _notification(receipt))


async def reconcile(
    pool: asyncpg.Pool, redis: ArqRedis, rail: RailClient, queue_name: str, after_ms: int
) -> int:
    """One pass; returns how many transfers got a job (an outcome or a resubmission)."""
    overdue = await submissions.overdue(pool, after_ms, RECONCILE_BATCH_MAX)
    jobs: list[Job] = []
    journal: list[datetime | None] = []  # Asked once per pass, when first needed.
    for transfer in overdue:
        try:
            receipt = await rail.get(transfer.id)
            if receipt is None and not journal:
                journal.append(await rail.journal_since())
        except RailUnavailable:
            log.warning("rail unavailable; reconciliation stops until the next pass")
            break
        if receipt is None and not never_received(transfer.created_at, journal[0]):
            log.error(
                "the rail does not know %s and cannot prove it never received it (no "
                "journal covers its submission): not submitted again, which could pay it "
                "twice; it stays pending for an operator (see README, known limits)",
                transfer.id,
            )
            continue
        if receipt is None:
            jobs += await submissions.forget(pool, transfer.id)
        else:
            jobs += await _decided(pool, receipt)
    await jobqueue.enqueue(redis, jobs, queue_name)
    return len(jobs)


async def reconcile_forever(
    pool: asyncpg.Pool,
    redis: ArqRedis,
    rail: RailClient,
    queue_name: str,
    interval_ms: int,
    after_ms: int,
) -> None:
    """Runs until cancelled at worker shutdown; an error in one pass never ends it."""
    assert interval_ms > 0 and after_ms >= 0
    while True:  # Intentionally unbounded: lives exactly as long as the worker process.
        await asyncio.sleep(interval_ms / 1000)
        try:
            queued = await reconcile(pool, redis, rail, queue_name, after_ms)
            if queued:
                log.info("reconciliation queued %d job(s)", queued)
        except Exception:  # The last line of recovery must outlive any one failure.
            log.warning("reconciliation failed; trying again next interval", exc_info=True)
