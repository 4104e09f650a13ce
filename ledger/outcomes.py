"""Applying the rail's decisions. One notification moves one transfer by a guarded
transition, posts the money that decision moves, and records its event — all in one
transaction, so applying the same notification twice changes nothing the second time."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger import events, postings, transfers, wire
from ledger.outbox import Job
from ledger.sql import QUERIES
from ledger.status import Status

# What the rail's notification types mean for one of our transfers.
RAIL_OUTCOMES = {"entry.settled": Status.SUCCEEDED, "entry.returned": Status.FAILED}


def home_account(row: dict[str, Any]) -> str:
    """The account a rail transfer's money belongs to while it is ours: an order's (or the
    marketplace's) escrow for credits and reversals, the payable account for settlements."""
    if row["kind"] == "settlement":
        account_id: str = (
            row["source_id"] if row["rail_entry_kind"] == "credit" else row["destination_id"]
        )
        assert account_id.startswith("AT"), row
        return account_id
    return postings.escrow_of(row["marketplace_id"], row["order_id"])


def outcome_lines(row: dict[str, Any], previous: Status, target: Status) -> dict[str, int]:
    """The posting a decision makes. Empty when it moves nothing.

    Payouts (credits, `SC` settlements) left their home when created: success settles them
    at the bank, failure brings them home (from flight, or from the bank after a late
    return). Collections (`SD` settlements) arrived at creation and mirror that. Reversals
    move money only when they succeed."""
    amount_cents = row["amount_cents"]
    in_flight = postings.system_account(row["marketplace_id"], "ach_in_flight")
    settled = postings.system_account(row["marketplace_id"], "ach_settled")
    home = home_account(row)
    if row["kind"] == "reversal":
        if target == Status.SUCCEEDED:
            return {settled: -amount_cents, home: amount_cents}
        return {}
    sign = 1 if row["rail_entry_kind"] == "credit" else -1
    if target == Status.SUCCEEDED:
        return {in_flight: -sign * amount_cents, settled: sign * amount_cents}
    origin = in_flight if previous == Status.PENDING else settled
    return {origin: -sign * amount_cents, home: sign * amount_cents}


def _failure(notification: dict[str, Any]) -> tuple[str, str]:
    entry = notification["entry"]
    return entry.get("return_code") or "R00", entry.get("return_reason") or "Returned"


async def _notice_of_change(
    connection: asyncpg.Connection, row: dict[str, Any], entry: dict[str, Any]
) -> list[Job]:
    """The bank corrected the account's details (a NOC): no money moves; the bank account
    records the correction and a `bank_account.updated` event tells the marketplace."""
    updated = await connection.fetchrow(
        QUERIES["customers"]["record_notice_of_change"],
        row["bank_account_id"],
        entry.get("correction_code") or "C00",
        entry.get("corrected_data") or "",
    )
    assert updated is not None
    entity = wire.envelope("bank_accounts", [wire.bank_account(dict(updated))])
    return await events.record(
        connection, row["marketplace_id"], "bank_account.updated", updated["id"], entity
    )


async def apply_rail_outcome(
    connection: asyncpg.Connection, notification: dict[str, Any]
) -> list[Job]:
    locked = await connection.fetchrow(transfers.Q["lock"], notification["entry"]["id"])
    if locked is None:
        return []  # An entry that is not ours: nothing to do.
    if notification["type"] == "entry.corrected":
        return await _notice_of_change(connection, dict(locked), notification["entry"])
    target = RAIL_OUTCOMES.get(notification["type"])
    if target is None:
        return []
    row = dict(locked)
    previous = Status(row["status"])
    if row["kind"] == "reversal" and previous == Status.SUCCEEDED:
        # A reversal returned after it succeeded would take back escrow that may already
        # be paid out again; it is left for an operator (see README, known limits).
        return []
    failure = _failure(notification) if target == Status.FAILED else None
    updated = await transfers.transition(connection, row, target, failure)
    if updated is None:
        return []
    lines = outcome_lines(row, previous, target)
    if lines:
        await postings.post(
            connection, row["marketplace_id"], row["id"], f"{row['kind']}.{target}", lines
        )
    return await transfers.record_event(connection, updated, f"{row['kind']}.{target}")
