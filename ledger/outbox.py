"""The outbox: jobs are rows first, queue entries second.

A job row is written in the transaction whose commit makes the work necessary; after the
commit the caller enqueues it on arq with `_job_id` = the row id (the fast path, in the
`jobqueue` package: the domain knows no queue library). If that enqueue is lost (process
killed, Redis flushed), the sweeper finds the row still there and enqueues it again. A job
deletes its row in the transaction that commits its work, so the table holds open work
only: a job whose row is gone is done, and a second run of it does nothing. Job names and id
formats are in `ledger/protocol.py`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ledger import protocol
from ledger.sql import QUERIES

Q = QUERIES["outbox"]
log = logging.getLogger(__name__)

# (job function name, outbox id): all a queue entry carries; the row holds the rest.
Job = tuple[str, str]

# How many stale rows one sweep re-enqueues: bounds the sweep's transaction and Redis burst.
SWEEP_BATCH_MAX = 500


async def add(
    connection: asyncpg.Connection | asyncpg.Pool, outbox_id: str, job: str, args: dict[str, Any]
) -> list[Job]:
    """Write a job row; the same id twice is one job."""
    row = await connection.fetchrow(Q["insert"], outbox_id, job, args)
    return [] if row is None else [(row["job"], row["id"])]


async def add_many(
    connection: asyncpg.Connection | asyncpg.Pool,
    job: str,
    rows: list[tuple[str, dict[str, Any]]],
) -> list[Job]:
    """Write many job rows named `job` ((id, args) each) in one statement; an id already
    present (or twice in `rows`) is one job. Returns the jobs written now."""
    written = await connection.fetch(
        Q["insert_many"], [row[0] for row in rows], job, [row[1] for row in rows]
    )
    return [(row["job"], row["id"]) for row in written]


async def reopen(
    connection: asyncpg.Connection, outbox_id: str, job: str, args: dict[str, Any]
) -> list[Job]:
    """Make a finished job due again, writing its row afresh; returns it, to be enqueued
    after the commit (nothing when the row is still there: it runs anyway)."""
    row = await connection.fetchrow(Q["reopen"], outbox_id, job, args)
    return [] if row is None else [(row["job"], row["id"])]


async def mark_done(connection: asyncpg.Connection | asyncpg.Pool, outbox_id: str) -> None:
    """The job's work commits with the caller's transaction: its row goes."""
    await connection.execute(Q["mark_done"], outbox_id)


async def spread(
    connection: asyncpg.Connection, jobs: list[Job], prefix: str, burst: int, interval_ms: int
) -> list[Job]:
    """Pace a batch of jobs that share one queue with everyone's (a range redelivery):
    the first `burst` are due now, the others one every `interval_ms`, after any batch of
    the same `prefix` still waiting. Returns the jobs due now, for the caller to enqueue
    after the commit; the sweeper enqueues the others as they fall due, at most
    SWEEP_BATCH_MAX a sweep, so a job enqueued later waits behind at most that many."""
    assert burst >= 1 and interval_ms >= 1
    rows = await connection.fetch(Q["spread"], [job[1] for job in jobs], prefix, burst, interval_ms)
    return [(row["job"], row["id"]) for row in rows if row["due"]]


@dataclass(frozen=True)
class Claimed:
    """An open job taken by a batch: its row id and arguments."""

    id: str
    args: dict[str, Any]
    #: None for a job not taken by `claim_due` (one row run on its own).
    created_at: datetime | None


async def claim_due(
    pool: asyncpg.Pool, job: str, limit: int, lease_ms: int, busy_prefixes: list[str]
) -> list[Claimed]:
    """Up to `limit` due jobs named `job`, oldest first, none whose id starts with one of
    `busy_prefixes`, leased for `lease_ms`: until then no other batch and no sweep takes
    them. The caller marks them done, or releases them.
    In the order they were written (the rail's notifications of one entry come in order)."""
    assert limit >= 1 and lease_ms > 0
    # Only deliveries have busy prefixes (their callbacks); sparing them by walking the due
    # rows would cost the busy callback's whole backlog on every claim.
    assert not busy_prefixes or job == protocol.DELIVER_CALLBACK, (job, busy_prefixes)
    query = Q["claim_due_sparing"] if busy_prefixes else Q["claim_due"]
    rows = await pool.fetch(query, job, limit, lease_ms, busy_prefixes)
    claimed = [Claimed(row["id"], row["args"], row["created_at"]) for row in rows]
    return sorted(claimed, key=_written_order)


EARLIEST = datetime.min.replace(tzinfo=UTC)


def _written_order(job: Claimed) -> tuple[datetime, int, str]:
    """Rows written by one statement share created_at; `add_many` numbers them."""
    return (job.created_at or EARLIEST, job.args.get("batch_position", 0), job.id)


async def mark_done_many(connection: asyncpg.Connection | asyncpg.Pool, ids: list[str]) -> None:
    if ids:
        await connection.execute(Q["mark_done_many"], ids)


async def release_many(pool: asyncpg.Pool, ids: list[str], delay_ms: int = 0) -> None:
    """Give claimed jobs back, due again after `delay_ms`."""
    assert delay_ms >= 0
    if ids:
        await pool.execute(Q["release_many"], ids, delay_ms)


async def back_off(pool: asyncpg.Pool, ids: list[str], base_ms: int, max_ms: int) -> list[int]:
    """Make claimed jobs due again each after its own exponential backoff (their tries are
    counted in the row); returns when each is due, in ms since the epoch."""
    assert 0 < base_ms <= max_ms
    rows = await pool.fetch(Q["back_off"], ids, base_ms, max_ms)
    return [row["due_ms"] for row in rows]


async def load_args(pool: asyncpg.Pool, outbox_id: str) -> dict[str, Any] | None:
    """A job's arguments, or None when its row is gone (the job is done): a duplicate run
    of an at-least-once job then has nothing to do."""
    row = await pool.fetchrow(Q["get"], outbox_id)
    if row is None:
        return None
    args: dict[str, Any] = row["args"]
    return args


async def defer(connection: asyncpg.Connection, outbox_id: str, not_before: datetime) -> None:
    """Keep an open job from being enqueued again before `not_before` (a retry waiting
    out its backoff: neither arq nor the sweeper sends it again meanwhile)."""
    await connection.execute(Q["defer"], outbox_id, not_before)


async def claim_stale(pool: asyncpg.Pool, stale_after_ms: int) -> list[Job]:
    """Open jobs nobody has touched for `stale_after_ms`, at most SWEEP_BATCH_MAX, marked
    as enqueued now: the caller enqueues them."""
    rows = await pool.fetch(Q["claim_stale"], stale_after_ms, SWEEP_BATCH_MAX)
    return [(row["job"], row["id"]) for row in rows]


async def submit_jobless(pool: asyncpg.Pool, older_than_ms: int) -> list[Job]:
    """Give every pending rail transfer that has neither a recorded submission nor a
    submit job (its row deleted) that job again; returns the jobs, to enqueue.

    The outbox alone cannot find these: the job is what went missing. Without this a
    transfer whose row vanished would stay pending forever, its escrow consumed."""
    rows = await pool.fetch(Q["submit_unsubmitted"], older_than_ms, SWEEP_BATCH_MAX)
    jobs = [(row["job"], row["id"]) for row in rows]
    if jobs:
        log.warning("gave %d jobless pending transfer(s) a submit job", len(jobs))
    return jobs
