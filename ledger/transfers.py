"""What every transfer shares: the request, the result, insertion, the guarded status
change, events, reading and listing.

Every function of the transfer modules (`debits`, `credits`, `settlements`, `outcomes`)
runs inside the caller's PostgreSQL transaction and does all of one state change there:
the transaction row, its ledger posting, its event and its outbox jobs. The caller
commits, then enqueues the returned jobs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import asyncpg

from ledger import events, ids, instruments, orders, submissions, wire
from ledger.errors import BalancedError, NotFound, TransactionFailed
from ledger.outbox import Job
from ledger.records import DestinationKind, RailEntryKind, Transfer, TransferKind
from ledger.sql import QUERIES
from ledger.status import ALLOWED_TRANSITIONS, Status, assert_transition, sources_of

Q = QUERIES["transactions"]

NUMBER_PREFIXES = {"debit": "W", "credit": "CR", "refund": "RF", "reversal": "RV"}


@dataclass(frozen=True)
class TransferRequest:
    """What a client asks to move. Validated at the API edge; amounts in cents. A refund or
    reversal without an amount takes what remains of its debit or credit."""

    amount_cents: int | None
    order_id: str | None = None
    description: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    appears_on_statement_as: str | None = None


@dataclass(frozen=True)
class TransferResult:
    """A transfer as committed: its row, the jobs to enqueue, and — when it was persisted
    as `failed` — the error to answer with beside it."""

    row: Transfer
    jobs: list[Job] = field(default_factory=list)
    error: BalancedError | None = None


@dataclass(frozen=True)
class Parties:
    """Who and what a new transfer involves besides its amount."""

    customer_id: str | None = None
    source_id: str | None = None
    destination_id: str | None = None
    # What destination_id names, stored so nobody reads it from the id's prefix.
    destination_kind: DestinationKind | None = None
    parent_id: str | None = None
    statement: str | None = None
    # Set for transfers that travel on the ACH rail.
    bank_account_id: str | None = None
    rail_entry_kind: RailEntryKind | None = None
    number_prefix: str | None = None
    card_hold_id: str | None = None
    # A credit paying back what this reversal over-collected from the merchant.
    compensates_id: str | None = None


def resource(row: dict[str, Any]) -> dict[str, Any]:
    """The Balanced envelope of one transfer, as the API returns it and events carry it."""
    return wire.envelope(
        wire.TRANSACTION_TYPES[row["kind"]], [wire.transaction(Transfer.from_row(row))]
    )


async def record_event(
    connection: asyncpg.Connection, row: dict[str, Any], event_type: str
) -> list[Job]:
    return await events.record(
        connection, row["marketplace_id"], event_type, row["id"], resource(row)
    )


@dataclass(frozen=True)
class NewTransfer:
    """A transfer to insert: what was asked and who it involves."""

    marketplace_id: str
    kind: TransferKind
    request: TransferRequest
    parties: Parties


async def insert(
    connection: asyncpg.Connection,
    marketplace_id: str,
    kind: TransferKind,
    request: TransferRequest,
    parties: Parties,
) -> dict[str, Any]:
    """A new `pending` transfer; its status moves only through `transition`."""
    (row,) = await insert_many(connection, [NewTransfer(marketplace_id, kind, request, parties)])
    return row


async def insert_many(
    connection: asyncpg.Connection, new: list[NewTransfer]
) -> list[dict[str, Any]]:
    """New `pending` transfers in one statement; their rows, in the order of `new`."""
    if not new:
        return []
    assert all(t.request.amount_cents is not None and t.request.amount_cents > 0 for t in new)
    columns: list[tuple[Any, ...]] = [
        (
            ids.new_id(t.kind),
            t.marketplace_id,
            t.kind,
            t.request.amount_cents,
            t.request.description,
            t.request.meta,
            t.parties.statement,
            ids.new_transaction_number(t.parties.number_prefix or NUMBER_PREFIXES[t.kind]),
            t.request.order_id,
            t.parties.customer_id,
            t.parties.source_id,
            t.parties.destination_id,
            t.parties.parent_id,
            t.parties.bank_account_id,
            t.parties.rail_entry_kind,
            t.parties.card_hold_id,
            t.parties.compensates_id,
            t.parties.destination_kind,
        )
        for t in new
    ]
    rows = await connection.fetch(
        Q["insert"], *(list(column) for column in zip(*columns, strict=True))
    )
    by_id = {row["id"]: dict(row) for row in rows}
    assert len(by_id) == len(new) and all(r["status"] == Status.PENDING for r in by_id.values())
    return [by_id[values[0]] for values in columns]


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


async def succeed_now(
    connection: asyncpg.Connection, row: dict[str, Any]
) -> tuple[dict[str, Any], list[Job]]:
    """An immediate transfer: pending → succeeded with both events, in one transaction."""
    jobs = await record_event(connection, row, f"{row['kind']}.created")
    succeeded = await transition(connection, row, Status.SUCCEEDED)
    assert succeeded is not None
    jobs += await record_event(connection, succeeded, f"{row['kind']}.succeeded")
    return succeeded, jobs


async def fail_now(
    connection: asyncpg.Connection,
    row: dict[str, Any],
    code: str,
    reason: str,
    status_code: int = 409,
) -> TransferResult:
    """A transfer refused after it was recorded: kept as `failed`, answered with its error."""
    failed = await transition(connection, row, Status.FAILED, (code, reason))
    assert failed is not None
    jobs = await record_event(connection, failed, f"{row['kind']}.failed")
    error = TransactionFailed(
        reason,
        category_code=code,
        resource_type=wire.TRANSACTION_TYPES[row["kind"]],
        resource=wire.transaction(Transfer.from_row(failed)),
        status_code=status_code,
    )
    return TransferResult(Transfer.from_row(failed), jobs, error)


async def submit_later(connection: asyncpg.Connection, row: dict[str, Any]) -> list[Job]:
    """The outbox job that hands a rail-bound transfer to the rail."""
    assert row["rail_entry_kind"] is not None and row["bank_account_id"] is not None
    return await submissions.submit_job(connection, row["id"])


def inherit_description(request: TransferRequest, order: dict[str, Any] | None) -> TransferRequest:
    """A transfer without a description takes its order's, as Balanced does."""
    if order is None or request.description is not None or order["description"] is None:
        return request
    return replace(request, description=order["description"])


async def with_order(
    connection: asyncpg.Connection, marketplace_id: str, request: TransferRequest
) -> tuple[TransferRequest, dict[str, Any] | None]:
    """Resolve the order (404 when it is not this marketplace's) and let the transfer
    inherit its description."""
    if request.order_id is None:
        return request, None
    order = await orders.get_row(connection, marketplace_id, request.order_id)
    return inherit_description(request, order), order


@dataclass(frozen=True)
class CreditParties:
    """What a credit to a bank account checks before it is made: the marketplace's
    `domain_url` and `owner_customer_id`, the bank account's `customer_id`, and the order's
    `id`, `merchant_customer_id` and `description` (None without an order)."""

    marketplace: dict[str, Any]
    bank_account: dict[str, Any]
    order: dict[str, Any] | None


async def bank_account_credit_parties(
    connection: asyncpg.Connection,
    marketplace_id: str,
    bank_account_id: str,
    order_id: str | None,
) -> CreditParties:
    """The marketplace, bank account and order of a credit, in one round trip (the hot
    path); 404 for a bank account, then an order, that is not the marketplace's."""
    (found,) = await bank_account_credit_parties_many(
        connection, [(marketplace_id, bank_account_id, order_id)]
    )
    if isinstance(found, BalancedError):
        raise found
    return found


async def bank_account_credit_parties_many(
    connection: asyncpg.Connection, wanted: list[tuple[str, str, str | None]]
) -> list[CreditParties | BalancedError]:
    """`bank_account_credit_parties` of many (marketplace id, bank account id, order id)
    in one round trip: each one's parties, or the 404 that refuses it."""
    rows = await connection.fetch(
        Q["bank_account_credit_parties"], *(list(column) for column in zip(*wanted, strict=True))
    )
    assert len(rows) == len(wanted)
    return [_credit_parties(row, *asked) for row, asked in zip(rows, wanted, strict=True)]


def _credit_parties(
    row: asyncpg.Record, marketplace_id: str, bank_account_id: str, order_id: str | None
) -> CreditParties | BalancedError:
    if row["marketplace_id"] is None:
        return NotFound(f"Marketplace {marketplace_id} could not be found.")
    if row["bank_account_id"] is None:
        return NotFound(f"Bank account {bank_account_id} could not be found.")
    if row["bank_account_deleted_at"] is not None:
        return instruments.unusable("bank_account", bank_account_id, "credited")
    if order_id is not None and row["order_id"] is None:
        return NotFound(f"Order {order_id} could not be found.")
    order = None
    if order_id is not None:
        order = {
            "id": row["order_id"],
            "merchant_customer_id": row["order_merchant_customer_id"],
            "description": row["order_description"],
        }
    return CreditParties(
        marketplace={
            "domain_url": row["domain_url"],
            "owner_customer_id": row["owner_customer_id"],
        },
        bank_account={"customer_id": row["bank_account_customer_id"]},
        order=order,
    )


async def get(
    connection: asyncpg.Connection | asyncpg.Pool,
    marketplace_id: str,
    kind: TransferKind,
    transfer_id: str,
) -> Transfer:
    row = await connection.fetchrow(Q["get"], marketplace_id, transfer_id, kind)
    if row is None:
        raise NotFound(f"{kind.capitalize()} {transfer_id} could not be found.")
    return Transfer.from_row(row)


async def lock(
    connection: asyncpg.Connection, marketplace_id: str, kind: TransferKind, transfer_id: str
) -> Transfer:
    row = await connection.fetchrow(Q["lock_in_marketplace"], marketplace_id, transfer_id, kind)
    if row is None:
        raise NotFound(f"{kind.capitalize()} {transfer_id} could not be found.")
    return Transfer.from_row(row)


async def remaining_cents(connection: asyncpg.Connection, parent: Transfer) -> int:
    """What is left of a debit to refund, or of a credit to reverse."""
    taken: int = await connection.fetchval(Q["children_cents"], parent.id)
    remaining: int = parent.amount_cents - taken
    assert 0 <= remaining <= parent.amount_cents, (parent.id, remaining)
    return remaining


@dataclass(frozen=True)
class ListQuery:
    """Which transfers a list shows. Failed ones are hidden unless asked for (Balanced)."""

    kind: TransferKind
    order_id: str | None = None
    parent_id: str | None = None
    # The source or the destination: a card's debits, a bank account's credits and
    # settlements, an account's credits, reversals and settlements.
    party_id: str | None = None
    settlement_id: str | None = None
    customer_id: str | None = None
    # The settlement that paid out (or settled) this credit or reversal.
    settled_id: str | None = None
    # The hold a debit captured.
    card_hold_id: str | None = None
    statuses: tuple[str, ...] = (Status.PENDING, Status.SUCCEEDED)
    amount_cents_min: int | None = None
    amount_cents_max: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: str = "created_at,asc"


async def list_page(
    pool: asyncpg.Pool, marketplace_id: str, query: ListQuery, limit: int, offset: int
) -> tuple[list[Transfer], int]:
    rows = await pool.fetch(
        Q["list"],
        marketplace_id,
        query.kind,
        query.order_id,
        query.parent_id,
        query.party_id,
        query.settlement_id,
        list(query.statuses),
        query.amount_cents_min,
        query.amount_cents_max,
        query.created_after,
        query.created_before,
        query.sort,
        limit,
        offset,
        query.customer_id,
        query.settled_id,
        query.card_hold_id,
    )
    total = int(rows[0]["total"]) if rows else 0
    return [Transfer.from_row(row) for row in rows], total


async def update_details(
    connection: asyncpg.Connection | asyncpg.Pool,
    marketplace_id: str,
    kind: TransferKind,
    transfer_id: str,
    description: str | None,
    meta: dict[str, str] | None,
) -> Transfer:
    row = await connection.fetchrow(
        Q["update_details"], marketplace_id, transfer_id, kind, description, meta
    )
    if row is None:
        raise NotFound(f"{kind.capitalize()} {transfer_id} could not be found.")
    return Transfer.from_row(row)
