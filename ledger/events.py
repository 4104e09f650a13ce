"""Events: one row per state change, written in the transaction that made the change, and
the reads of events and of where each went (its deliveries and their attempts).

The event id is minted here, once; every delivery and every retry reuses it (it is the
`webhook-id` receivers deduplicate on). Pages of rows carry `total` (the count of the
whole list, `count(*) OVER ()`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ledger import ids
from ledger.errors import NotFound
from ledger.outbox import Job
from ledger.sql import QUERIES

Q = QUERIES["events"]


@dataclass(frozen=True)
class NewEvent:
    """An event to record: what happened to which entity, and the entity as it is now."""

    marketplace_id: str
    type: str
    entity_id: str
    entity: dict[str, Any]


async def record(
    connection: asyncpg.Connection,
    marketplace_id: str,
    event_type: str,
    entity_id: str,
    entity: dict[str, Any],
) -> list[Job]:
    """Write the event and one delivery job per live callback; returns the jobs."""
    return await record_many(connection, [NewEvent(marketplace_id, event_type, entity_id, entity)])


async def record_many(connection: asyncpg.Connection, new: list[NewEvent]) -> list[Job]:
    """`record` for many events, each of another entity, in one round trip (this runs for
    every transfer's every change)."""
    assert all("." in event.type for event in new), new
    assert len({event.entity_id for event in new}) == len(new), new
    if not new:
        return []
    deliveries = await connection.fetch(
        Q["record"],
        [ids.new_id("event") for _ in new],
        [event.marketplace_id for event in new],
        [event.type for event in new],
        [event.entity_id for event in new],
        [event.entity for event in new],
    )
    return [(delivery["job"], delivery["id"]) for delivery in deliveries]


async def list_page(
    pool: asyncpg.Pool,
    marketplace_id: str,
    entity_id: str | None,
    types: list[str] | None,
    occurred: tuple[datetime | None, datetime | None],
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    """One page of a marketplace's events (or one entity's), oldest first."""
    since, until = occurred
    rows: list[asyncpg.Record] = await pool.fetch(
        Q["list"], marketplace_id, entity_id, types, since, until, limit, offset
    )
    return rows


async def get(
    pool: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, event_id: str
) -> asyncpg.Record:
    """One event with its delivery counts per status (`callback_statuses`)."""
    row: asyncpg.Record | None = await pool.fetchrow(Q["get"], marketplace_id, event_id)
    if row is None:
        raise NotFound(f"Event {event_id} could not be found.")
    return row


async def deliveries(
    pool: asyncpg.Pool, marketplace_id: str, event_id: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    """One page of an event's deliveries, one per callback."""
    rows: list[asyncpg.Record] = await pool.fetch(
        Q["deliveries"], marketplace_id, event_id, limit, offset
    )
    return rows


async def attempts(
    pool: asyncpg.Pool,
    marketplace_id: str,
    event_id: str,
    callback_id: str,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    """One page of the attempts of an event's delivery to one callback."""
    rows: list[asyncpg.Record] = await pool.fetch(
        Q["attempts"], marketplace_id, event_id, callback_id, limit, offset
    )
    return rows
