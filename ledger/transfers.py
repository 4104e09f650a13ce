"""Transfers: card debits into escrow, ACH credits out of it, and rail outcomes.

Every function here runs inside the caller's PostgreSQL transaction and does all of one
state change there: the transaction row, its ledger posting, its event and its outbox
jobs. The caller commits, then enqueues the returned jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ledger import events, ids, instruments, marketplaces, orders, outbox, postings, wire
from ledger.errors import BalancedError, Conflict, NotFound, TransactionFailed
from ledger.outbox import Job
from ledger.sql import QUERIES
from ledger.status import ALLOWED_TRANSITIONS, Status, assert_transition, sources_of

Q = QUERIES["transactions"]

# ACH entries show at most 14 characters on the receiver's statement; card statements
# show `BAL*` plus 18.
ACH_STATEMENT_LENGTH_MAX = 14
CARD_STATEMENT_LENGTH_MAX = 18
CARD_STATEMENT_PREFIX = "BAL*"

# What the rail's notification types mean for one of our transfers.
RAIL_OUTCOMES = {"entry.settled": Status.SUCCEEDED, "entry.returned": Status.FAILED}


@dataclass(frozen=True)
class TransferResult:
    """A transfer as committed: its row, the jobs to enqueue, and — when it was persisted
    as `failed` — the error to answer with beside it."""

    row: dict[str, Any]
    jobs: list[Job] = field(default_factory=list)
    error: BalancedError | None = None


@dataclass(frozen=True)
class TransferRequest:
    """What a client asks to move. Validated at the API edge; amounts in cents."""

    amount_cents: int
    order_id: str | None = None
    description: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    appears_on_statement_as: str | None = None


def resource(row: dict[str, Any]) -> dict[str, Any]:
    """The Balanced envelope of one transfer, as the API returns it and events carry it."""
    return wire.envelope(wire.TRANSACTION_TYPES[row["kind"]], [wire.transaction(row)])


async def _record_event(
    connection: asyncpg.Connection, row: dict[str, Any], event_type: str
) -> list[Job]:
    return await events.record(
        connection, row["marketplace_id"], event_type, row["id"], resource(row)
    )


async def _insert(
    connection: asyncpg.Connection,
    marketplace_id: str,
    kind: str,
    request: TransferRequest,
    *,
    statement: str,
    customer_id: str | None,
    source_id: str | None = None,
    destination_id: str | None = None,
) -> dict[str, Any]:
    transaction_id = ids.new_id(kind)
    number_prefix = {"debit": "W", "credit": "CR"}[kind]
    row = await connection.fetchrow(
        Q["insert"],
        transaction_id,
        marketplace_id,
        kind,
        Status.PENDING,
        request.amount_cents,
        request.description,
        request.meta,
        statement,
        ids.new_transaction_number(number_prefix),
        request.order_id,
        customer_id,
        source_id,
        destination_id,
        None,
        None,
        None,
    )
    assert row is not None and row["status"] == Status.PENDING
    return dict(row)


async def transition(
    connection: asyncpg.Connection,
    row: dict[str, Any],
    target: Status,
    failure: tuple[str, str] | None = None,
) -> dict[str, Any] | None:
    """Move a transfer to `target` if it is still in a status that may reach it; returns the
    new row, or None when another application of the same outcome got there first."""
    assert (target == Status.FAILED) == (failure is not None)
    current = Status(row["status"])
    if target not in ALLOWED_TRANSITIONS[current]:
        return None  # A repeated or out-of-order outcome: an operating fact, not a bug.
    assert_transition(current, target)
    code, reason = failure if failure is not None else (None, None)
    updated = await connection.fetchrow(
        Q["transition"], row["id"], target, sources_of(target), code, reason
    )
    if updated is None:
        return None
    assert updated["status"] == target
    return dict(updated)


async def _describe(
    connection: asyncpg.Connection, marketplace_id: str, request: TransferRequest
) -> tuple[TransferRequest, dict[str, Any] | None]:
    """Resolve the order (404 when it is not this marketplace's) and let the transfer
    inherit its description, as Balanced does."""
    if request.order_id is None:
        return request, None
    order = await orders.get(connection, marketplace_id, request.order_id)
    if request.description is None and order["description"] is not None:
        request = TransferRequest(
            request.amount_cents,
            request.order_id,
            order["description"],
            request.meta,
            request.appears_on_statement_as,
        )
    return request, order


async def debit_card(
    connection: asyncpg.Connection, marketplace_id: str, card_id: str, request: TransferRequest
) -> TransferResult:
    """Charge a card synchronously through the simulated processor into escrow."""
    card = await instruments.get_card(connection, marketplace_id, card_id)
    request, _ = await _describe(connection, marketplace_id, request)
    marketplace = await marketplaces.get(connection, marketplace_id)
    statement = request.appears_on_statement_as or marketplace["domain_url"]
    statement = CARD_STATEMENT_PREFIX + statement[:CARD_STATEMENT_LENGTH_MAX]
    row = await _insert(
        connection,
        marketplace_id,
        "debit",
        request,
        statement=statement,
        customer_id=card["customer_id"],
        source_id=card_id,
    )
    jobs = await _record_event(connection, row, "debit.created")
    if card["processor_verdict"] == "decline":
        failed = await transition(
            connection,
            row,
            Status.FAILED,
            ("card-declined", "This card was declined by the processor."),
        )
        assert failed is not None
        jobs += await _record_event(connection, failed, "debit.failed")
        error = TransactionFailed(
            "This card was declined by the processor.",
            category_code="card-declined",
            resource_type="debits",
            resource=wire.transaction(failed),
            status_code=402,
        )
        return TransferResult(failed, jobs, error)
    await postings.post(
        connection,
        marketplace_id,
        row["id"],
        "debit.succeeded",
        {
            postings.system_account(marketplace_id, "card_network"): -row["amount_cents"],
            postings.escrow_of(marketplace_id, row["order_id"]): row["amount_cents"],
        },
    )
    succeeded = await transition(connection, row, Status.SUCCEEDED)
    assert succeeded is not None
    jobs += await _record_event(connection, succeeded, "debit.succeeded")
    return TransferResult(succeeded, jobs)


async def _check_destination(
    connection: asyncpg.Connection,
    marketplace_id: str,
    order: dict[str, Any] | None,
    bank_account: dict[str, Any],
) -> None:
    """For each Order, only one merchant and the marketplace may be credited."""
    if order is None:
        return
    marketplace = await marketplaces.get(connection, marketplace_id)
    allowed = {order["merchant_customer_id"], marketplace["owner_customer_id"]}
    if bank_account["customer_id"] not in allowed:
        raise Conflict(
            f"Bank account {bank_account['id']} belongs to neither the merchant of order "
            f"{order['id']} nor the marketplace owner.",
            category_code="funding-destination-not-associated",
        )


async def credit_bank_account(
    connection: asyncpg.Connection,
    marketplace_id: str,
    bank_account_id: str,
    request: TransferRequest,
) -> TransferResult:
    """Pay escrow out to a bank account over ACH: `pending` now, decided by the rail later.

    The escrow is consumed at once (a pending credit counts); if it would go negative the
    credit is recorded as `failed` with `insufficient-funds` and nothing moves."""
    bank_account = await instruments.get_bank_account(connection, marketplace_id, bank_account_id)
    request, order = await _describe(connection, marketplace_id, request)
    await _check_destination(connection, marketplace_id, order, bank_account)
    marketplace = await marketplaces.get(connection, marketplace_id)
    statement = request.appears_on_statement_as or marketplace["domain_url"]
    row = await _insert(
        connection,
        marketplace_id,
        "credit",
        request,
        statement=statement[:ACH_STATEMENT_LENGTH_MAX],
        customer_id=bank_account["customer_id"],
        destination_id=bank_account_id,
    )
    escrow_id = postings.escrow_of(marketplace_id, row["order_id"])
    try:
        await postings.post(
            connection,
            marketplace_id,
            row["id"],
            "credit.created",
            {
                escrow_id: -row["amount_cents"],
                postings.system_account(marketplace_id, "ach_in_flight"): row["amount_cents"],
            },
        )
    except postings.InsufficientFunds:
        return await _refuse_for_funds(connection, row, order)
    jobs = await _record_event(connection, row, "credit.created")
    jobs += await outbox.add(
        connection, f"submit:{row['id']}", "submit_transfer", {"transaction_id": row["id"]}
    )
    return TransferResult(row, jobs)


async def _refuse_for_funds(
    connection: asyncpg.Connection, row: dict[str, Any], order: dict[str, Any] | None
) -> TransferResult:
    holder = f"Order {order['id']}" if order else f"Marketplace {row['marketplace_id']}"
    reason = f"{holder} has insufficient funds to cover a transfer of {row['amount_cents']}."
    failed = await transition(connection, row, Status.FAILED, ("insufficient-funds", reason))
    assert failed is not None
    jobs = await _record_event(connection, failed, "credit.failed")
    error = TransactionFailed(
        reason,
        category_code="insufficient-funds",
        resource_type="credits",
        resource=wire.transaction(failed),
    )
    return TransferResult(failed, jobs, error)


def _outcome_lines(row: dict[str, Any], previous: Status, target: Status) -> dict[str, int]:
    """The posting that settles a credit's money when the rail decides it."""
    marketplace_id, amount_cents = row["marketplace_id"], row["amount_cents"]
    in_flight = postings.system_account(marketplace_id, "ach_in_flight")
    settled = postings.system_account(marketplace_id, "ach_settled")
    escrow = postings.escrow_of(marketplace_id, row["order_id"])
    if target == Status.SUCCEEDED:
        return {in_flight: -amount_cents, settled: amount_cents}
    # A failure returns the money to the escrow it came from: from flight if the rail
    # never settled it, from the receiving bank if it is a late return.
    origin = in_flight if previous == Status.PENDING else settled
    return {origin: -amount_cents, escrow: amount_cents}


async def apply_rail_outcome(
    connection: asyncpg.Connection, notification: dict[str, Any]
) -> list[Job]:
    """Apply one rail notification to its transfer: a guarded transition, its posting and
    its event. Applying the same notification twice changes nothing the second time."""
    target = RAIL_OUTCOMES.get(notification["type"])
    entry = notification["entry"]
    locked = await connection.fetchrow(Q["lock"], entry["id"])
    if target is None or locked is None:
        return []  # A notice of change or an entry that is not ours: nothing moves.
    row = dict(locked)
    previous = Status(row["status"])
    failure = None
    if target == Status.FAILED:
        failure = (entry["return_code"] or "R00", entry["return_reason"] or "Returned")
    updated = await transition(connection, row, target, failure)
    if updated is None:
        return []
    await postings.post(
        connection,
        row["marketplace_id"],
        row["id"],
        f"{row['kind']}.{target}",
        _outcome_lines(row, previous, target),
    )
    return await _record_event(connection, updated, f"{row['kind']}.{target}")


async def get(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, kind: str, transfer_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get"], marketplace_id, transfer_id, kind)
    if row is None:
        raise NotFound(f"{kind.capitalize()} {transfer_id} could not be found.")
    return dict(row)
