"""Disputes: a cardholder contests a card debit with their bank, and the card network
opens a dispute (read-only to marketplaces, as in Balanced).

The simulated card network disputes every debit of Balanced's test card 6500000000000002
as soon as the debit succeeds, in the same transaction (Balanced's did "within minutes").

Its effect on money (README, "Disputes"): the network charges the disputed amount back at
once, as card networks do when a dispute opens. So the amount leaves the escrow the debit
filled (its order's, or the marketplace's) back to the card network; what that escrow no
longer holds (already paid out) is the marketplace's shortfall. The debit stays
`succeeded` (Balanced keeps it so) and names the dispute in `links.dispute`; it can no
longer be refunded (409 `debit-disputed`: the cardholder already has the money back).
Disputes stay `pending`: ballast simulates no representment, so none is won or lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from ledger import ach_debits, events, ids, transfers, wire
from ledger.errors import NotFound
from ledger.outbox import Job
from ledger.records import TransferKind
from ledger.sql import QUERIES

Q = QUERIES["disputes"]

# The reason the simulated network gives, as Balanced's test card did.
REASON = "fraud"
# How long the marketplace has to answer a dispute: Balanced showed `respond_by` 30 days
# after `initiated_at`.
RESPOND_WITHIN = timedelta(days=30)


def resource(row: dict[str, Any]) -> dict[str, Any]:
    return wire.envelope("disputes", [wire.dispute(row)])


async def open_on_debit(
    connection: asyncpg.Connection, debit: dict[str, Any]
) -> tuple[dict[str, Any], list[Job]]:
    """The cardholder disputes a succeeded card debit: the dispute, the chargeback out of
    the debit's escrow, and the events (`dispute.created`, then `debit.updated`). Returns
    the debit as it is now."""
    assert debit["kind"] == "debit" and debit["status"] == "succeeded", debit
    assert debit["rail_entry_kind"] is None and debit["dispute_id"] is None, debit
    initiated_at = datetime.now(UTC)
    dispute = await connection.fetchrow(
        Q["insert"],
        ids.new_id("dispute"),
        debit["marketplace_id"],
        debit["id"],
        debit["amount_cents"],
        REASON,
        initiated_at,
        initiated_at + RESPOND_WITHIN,
    )
    assert dispute is not None
    disputed = await connection.fetchrow(Q["name_on_transaction"], debit["id"], dispute["id"])
    assert disputed is not None and disputed["dispute_id"] == dispute["id"], debit
    await ach_debits.take_back(
        connection, dict(disputed), "dispute.created", counterparty="card_network"
    )
    jobs = await events.record(
        connection,
        debit["marketplace_id"],
        "dispute.created",
        dispute["id"],
        resource(dict(dispute)),
    )
    jobs += await transfers.record_event(connection, dict(disputed), "debit.updated")
    return dict(disputed), jobs


async def get(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, dispute_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get"], marketplace_id, dispute_id)
    if row is None:
        raise NotFound(f"Dispute {dispute_id} could not be found.")
    return dict(row)


async def of_debit(pool: asyncpg.Pool, marketplace_id: str, debit_id: str) -> dict[str, Any]:
    """`GET /debits/{id}/dispute`: 404 for a debit that is not the marketplace's or that
    no one disputed."""
    await transfers.get(pool, marketplace_id, TransferKind.DEBIT, debit_id)
    row = await pool.fetchrow(Q["get_of_transaction"], marketplace_id, debit_id)
    if row is None:
        raise NotFound(f"Debit {debit_id} has no dispute.")
    return dict(row)


async def list_page(
    pool: asyncpg.Pool, marketplace_id: str, party_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the marketplace's disputes, or of those of a card's or customer's debits."""
    rows = await pool.fetch(Q["list"], marketplace_id, party_id, limit, offset)
    total = int(rows[0]["total"]) if rows else 0
    return [dict(row) for row in rows], total
