"""Reads for the operator dashboard (`dashboard/`): the figures of its overview, the
operator behind a session, and the events its live stream reports. Read-only; every read
is scoped by the marketplace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from ledger.sql import QUERIES

Q = QUERIES["dashboard"]

# Rows of the overview's small tables: a marketplace with more shows the first ones.
OVERVIEW_ROWS_MAX = 20


@dataclass(frozen=True)
class Operator:
    """Who a dashboard session acts for: a live API key and its marketplace."""

    key_id: str
    marketplace_id: str
    marketplace_name: str


async def operator(pool: asyncpg.Pool, key_id: str, marketplace_id: str) -> Operator | None:
    """The operator of a session, or None once its key is revoked."""
    row = await pool.fetchrow(Q["operator"], key_id, marketplace_id)
    if row is None:
        return None
    return Operator(row["key_id"], row["marketplace_id"], row["marketplace_name"])


@dataclass(frozen=True)
class Escrow:
    escrowed_cents: int
    orders_holding: int


@dataclass(frozen=True)
class InFlight:
    """Pending rail transfers of one kind submitted in one minute (None: not yet)."""

    entry_kind: str
    submitted_minute: datetime | None
    transfers: int
    amount_cents: int
    oldest_at: datetime


@dataclass(frozen=True)
class Volume:
    debits: int
    amount_cents: int


@dataclass(frozen=True)
class PayoutOutcomes:
    succeeded: int
    failed: int
    pending: int

    @property
    def return_rate(self) -> float | None:
        """Failed payouts among those decided; None before any is."""
        decided = self.succeeded + self.failed
        return None if decided == 0 else self.failed / decided


@dataclass(frozen=True)
class FailingCallback:
    id: str
    url: str
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    waiting: int


@dataclass(frozen=True)
class DayActivity:
    day: date
    volume_cents: int
    succeeded: int
    failed: int
    pending: int


async def money_in_escrow(pool: asyncpg.Pool, marketplace_id: str) -> Escrow:
    row = await pool.fetchrow(Q["money_in_escrow"], marketplace_id)
    assert row is not None
    return Escrow(int(row["escrowed_cents"]), int(row["orders_holding"]))


async def payouts_in_flight(pool: asyncpg.Pool, marketplace_id: str) -> list[InFlight]:
    rows = await pool.fetch(Q["payouts_in_flight"], marketplace_id, OVERVIEW_ROWS_MAX)
    return [
        InFlight(
            row["entry_kind"],
            row["submitted_minute"],
            int(row["transfers"]),
            int(row["amount_cents"]),
            row["oldest_at"],
        )
        for row in rows
    ]


async def volume_since(pool: asyncpg.Pool, marketplace_id: str, since: datetime) -> Volume:
    row = await pool.fetchrow(Q["volume_since"], marketplace_id, since)
    assert row is not None
    return Volume(int(row["debits"]), int(row["amount_cents"]))


async def payout_outcomes_since(
    pool: asyncpg.Pool, marketplace_id: str, since: datetime
) -> PayoutOutcomes:
    row = await pool.fetchrow(Q["payout_outcomes_since"], marketplace_id, since)
    assert row is not None
    return PayoutOutcomes(int(row["succeeded"]), int(row["failed"]), int(row["pending"]))


async def failing_callbacks(pool: asyncpg.Pool, marketplace_id: str) -> list[FailingCallback]:
    rows = await pool.fetch(Q["failing_callbacks"], marketplace_id, OVERVIEW_ROWS_MAX)
    return [
        FailingCallback(
            row["id"],
            row["url"],
            row["failing_since"],
            row["disabled_at"],
            row["disabled_reason"],
            int(row["waiting"]),
        )
        for row in rows
    ]


async def daily_activity(
    pool: asyncpg.Pool, marketplace_id: str, since: datetime
) -> list[DayActivity]:
    """Days with any transfer from `since` on, oldest first (days without are absent)."""
    rows = await pool.fetch(Q["daily_activity"], marketplace_id, since)
    return [
        DayActivity(
            row["day"],
            int(row["volume_cents"]),
            int(row["succeeded"]),
            int(row["failed"]),
            int(row["pending"]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class LiveEvent:
    """An event as the dashboard's live stream reports it."""

    id: str
    type: str
    entity_id: str
    status: str | None
    occurred_at: datetime


async def events_since(
    pool: asyncpg.Pool, marketplace_id: str, after: datetime, limit: int
) -> list[LiveEvent]:
    rows = await pool.fetch(Q["events_since"], marketplace_id, after, limit)
    return [
        LiveEvent(row["id"], row["type"], row["entity_id"], row["status"], row["occurred_at"])
        for row in rows
    ]
