"""Card holds: authorize now, capture (a debit into the hold's order) or void later. The
order's escrow changes only when a hold is captured."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ledger import debits, events, ids, instruments, orders, wire
from ledger.errors import BalancedError, Conflict, NotFound, TransactionFailed
from ledger.outbox import Job
from ledger.sql import QUERIES
from ledger.transfers import TransferRequest, TransferResult

Q = QUERIES["holds"]

# Balanced's holds expired after about seven days.
HOLD_LIFETIME_DAYS = 7
# The unique index that lets a hold have one debit that has not failed (schema.sql).
ONE_CAPTURE_PER_HOLD = "transactions_one_capture_per_hold"


def resource(row: dict[str, Any]) -> dict[str, Any]:
    return wire.envelope("card_holds", [wire.card_hold(row)])


async def _event(connection: asyncpg.Connection, row: dict[str, Any], kind: str) -> list[Job]:
    return await events.record(
        connection, row["marketplace_id"], f"hold.{kind}", row["id"], resource(row)
    )


async def create(
    connection: asyncpg.Connection, marketplace_id: str, card_id: str, request: TransferRequest
) -> tuple[dict[str, Any], list[Job], BalancedError | None]:
    """Authorize `amount_cents` on a card; a declined card gives a `failed` hold (402)."""
    card = await instruments.usable_card(connection, marketplace_id, card_id, "held")
    if request.order_id is not None:
        await orders.get_row(connection, marketplace_id, request.order_id)
    declined = card["processor_verdict"] == "decline"
    code, reason = debits.DECLINED if declined else (None, None)
    row = await connection.fetchrow(
        Q["insert"],
        ids.new_id("card_hold"),
        marketplace_id,
        card_id,
        request.order_id,
        "failed" if declined else "succeeded",
        request.amount_cents,
        request.description,
        request.meta,
        ids.new_transaction_number("HL"),
        code,
        reason,
        HOLD_LIFETIME_DAYS,
    )
    assert row is not None
    hold = dict(row) | {"debit_id": None}
    jobs = await _event(connection, hold, "created")
    if not declined:
        return hold, jobs, None
    error = TransactionFailed(
        reason or "",
        category_code=code or "card-declined",
        resource_type="card_holds",
        resource=wire.card_hold(hold),
        status_code=402,
    )
    return hold, jobs, error


async def get(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, hold_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get"], marketplace_id, hold_id)
    if row is None:
        raise NotFound(f"Card hold {hold_id} could not be found.")
    return dict(row)


def _closed_because(hold: dict[str, Any]) -> str | None:
    """Why a locked hold can no longer be captured or voided, if it cannot."""
    if hold["status"] != "succeeded":
        return "This hold was not authorized"
    if hold["captured_at"] is not None:
        return "This hold has already been captured"
    if hold["voided_at"] is not None:
        return "This hold has already been voided"
    return None


async def _lock_open(
    connection: asyncpg.Connection, marketplace_id: str, hold_id: str, action: str
) -> dict[str, Any]:
    """The hold, locked, if it may still be captured or voided. Every capture and void
    takes this lock first and decides from the locked row, so of concurrent captures and
    voids of one hold exactly one wins and the others get a 409. (The schema backs it:
    a trigger sets captured_at with the capture's debit, and a CHECK refuses a hold both
    captured and voided.)"""
    assert action in ("captured", "voided"), action
    row = await connection.fetchrow(Q["lock"], marketplace_id, hold_id)
    if row is None:
        raise NotFound(f"Card hold {hold_id} could not be found.")
    hold = dict(row)
    reason = _closed_because(hold)
    if reason is not None:
        raise Conflict(
            f"{reason}, and cannot be {action}.",
            category_code=f"cannot-{'capture' if action == 'captured' else 'void'}-authorization",
        )
    if hold["expires_at"] <= datetime.now(UTC):
        raise Conflict("This hold has already expired.", category_code="authorization-expired")
    return hold


async def capture(
    connection: asyncpg.Connection, marketplace_id: str, hold_id: str, request: TransferRequest
) -> TransferResult:
    """A debit of the hold's card for at most the hold's amount (all of it by default),
    into the hold's order unless another is given."""
    hold = await _lock_open(connection, marketplace_id, hold_id, "captured")
    amount_cents = request.amount_cents or hold["amount_cents"]
    if amount_cents > hold["amount_cents"]:
        raise BalancedError(
            "A capture cannot exceed the amount of its hold.",
            extras={"amount": f"at most {hold['amount_cents']}"},
        )
    request = replace(
        request,
        amount_cents=amount_cents,
        order_id=request.order_id or hold["order_id"],
        description=request.description or hold["description"],
    )
    try:
        result = await debits.debit_card(
            connection, marketplace_id, hold["card_id"], request, card_hold_id=hold_id
        )
    except asyncpg.UniqueViolationError as error:
        # Unreachable while every capture takes the hold's lock first; should a path ever
        # skip it, the database still refuses a second capture, and the client gets a 409.
        if error.constraint_name != ONE_CAPTURE_PER_HOLD:
            raise
        raise Conflict(
            "This hold has already been captured, and cannot be captured.",
            category_code="cannot-capture-authorization",
        ) from error
    captured = await get(connection, marketplace_id, hold_id)
    return replace(result, jobs=result.jobs + await _event(connection, captured, "captured"))


async def void(
    connection: asyncpg.Connection, marketplace_id: str, hold_id: str
) -> tuple[dict[str, Any], list[Job]]:
    await _lock_open(connection, marketplace_id, hold_id, "voided")
    voided_id = await connection.fetchval(Q["void"], marketplace_id, hold_id)
    assert voided_id == hold_id, "an open hold, locked, is not voided yet"
    voided = await get(connection, marketplace_id, hold_id)
    return voided, await _event(connection, voided, "voided")


async def update_details(
    connection: asyncpg.Connection,
    marketplace_id: str,
    hold_id: str,
    description: str | None,
    meta: dict[str, str] | None,
) -> dict[str, Any]:
    if (
        await connection.fetchval(Q["update_details"], marketplace_id, hold_id, description, meta)
        is None
    ):
        raise NotFound(f"Card hold {hold_id} could not be found.")
    return await get(connection, marketplace_id, hold_id)


async def list_page(
    pool: asyncpg.Pool,
    marketplace_id: str,
    card_id: str | None,
    include_voided: bool,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(Q["list"], marketplace_id, card_id, include_voided, limit, offset)
    return [dict(row) for row in rows], int(rows[0]["total"]) if rows else 0


async def list_page_for_customer(
    pool: asyncpg.Pool,
    marketplace_id: str,
    customer_id: str,
    include_voided: bool,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the holds on a customer's cards (`GET /customers/:id/card_holds`)."""
    rows = await pool.fetch(
        Q["list_for_customer"], marketplace_id, customer_id, include_voided, limit, offset
    )
    return [dict(row) for row in rows], int(rows[0]["total"]) if rows else 0
