"""Events: one row per state change, written in the transaction that made the change.

The event id is minted here, once; every delivery and every retry reuses it (it is the
`webhook-id` receivers deduplicate on)."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger import ids
from ledger.outbox import Job
from ledger.sql import QUERIES

Q = QUERIES["events"]


async def record(
    connection: asyncpg.Connection,
    marketplace_id: str,
    event_type: str,
    entity_id: str,
    entity: dict[str, Any],
) -> list[Job]:
    """Write the event and one delivery job per live callback; returns the jobs."""
    assert "." in event_type, event_type
    event_id = ids.new_id("event")
    row = await connection.fetchrow(
        Q["insert"], event_id, marketplace_id, event_type, entity_id, entity
    )
    assert row is not None and row["id"] == event_id
    deliveries = await connection.fetch(Q["fan_out"], event_id, marketplace_id)
    return [(delivery["job"], delivery["id"]) for delivery in deliveries]
