"""Reads for the operator dashboard (`dashboard/`): the figures of its overview, the
operator behind a session, and the events its live stream reports. Read-only; every read
is scoped by the marketplace."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from ledger.errors import NotFound
from ledger.sql import QUERIES

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Q = QUERIES["dashboard"]
R = TypeVar("R", bound="DataclassInstance")


def _record(cls: type[R], row: Mapping[str, Any], **given: Any) -> R:
    """`row` as the dataclass `cls`, field by field of the same name (`given` supplies or
    replaces fields); PostgreSQL's sums come back as numeric, money is int cents."""
    values = {f.name: row[f.name] for f in fields(cls) if f.name not in given}
    whole = {name: int(v) if isinstance(v, Decimal) else v for name, v in values.items()}
    return cls(**whole, **given)


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


# ---------------------------------------------------------------------------------------
# The operator pages: events and callbacks, the rail's transfers, API keys.

# Callbacks the callbacks page lists at most (a marketplace has a handful).
CALLBACKS_MAX = 100
# Pending rail transfers the rail page offers to pick from.
RAIL_TRANSFERS_MAX = 20


@dataclass(frozen=True)
class CallbackHealth:
    """A callback and how its deliveries fare: its state, its recent success rate, and
    its last failed attempt."""

    id: str
    url: str
    method: str
    failing_since: datetime | None
    stalled_until: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    recent_attempts: int
    recent_succeeded: int
    last_failure_at: datetime | None
    last_failure_status: int | None
    last_failure_error: str | None

    def state(self, now: datetime) -> str:
        """disabled, stalled (its receiver looks stuck), failing, or enabled."""
        if self.disabled_at is not None:
            return "disabled"
        if self.stalled_until is not None and self.stalled_until > now:
            return "stalled"
        if self.failing_since is not None:
            return "failing"
        return "enabled"

    @property
    def success_rate(self) -> float | None:
        """The share of recent attempts answered 2xx; None without any."""
        if self.recent_attempts == 0:
            return None
        return self.recent_succeeded / self.recent_attempts


def _callback_health(row: asyncpg.Record) -> CallbackHealth:
    return CallbackHealth(
        row["id"],
        row["url"],
        row["method"],
        row["failing_since"],
        row["stalled_until"],
        row["disabled_at"],
        row["disabled_reason"],
        row["created_at"],
        int(row["recent_attempts"]),
        int(row["recent_succeeded"]),
        row["last_failure_at"],
        row["last_failure_status"],
        row["last_failure_error"],
    )


async def callbacks_health(
    pool: asyncpg.Pool, marketplace_id: str, since: datetime
) -> list[CallbackHealth]:
    """The marketplace's live callbacks, with their attempts since `since`."""
    rows = await pool.fetch(Q["callbacks_health"], marketplace_id, since, None, CALLBACKS_MAX)
    return [_callback_health(row) for row in rows]


async def callback_health(
    pool: asyncpg.Pool, marketplace_id: str, callback_id: str, since: datetime
) -> CallbackHealth:
    rows = await pool.fetch(Q["callbacks_health"], marketplace_id, since, callback_id, 1)
    if not rows:
        raise NotFound(f"Callback {callback_id} could not be found.")
    return _callback_health(rows[0])


@dataclass(frozen=True)
class Attempt:
    id: int
    attempted_at: datetime
    response_status: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


@dataclass(frozen=True)
class CallbackDelivery:
    """One event's delivery to a callback, with every attempt it took."""

    id: str
    event_id: str
    event_type: str
    entity_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    tries: list[Attempt]


async def callback_deliveries(
    pool: asyncpg.Pool, marketplace_id: str, callback_id: str, limit: int, offset: int
) -> tuple[list[CallbackDelivery], int]:
    """One page of a callback's deliveries, newest first, and how many there are."""
    rows = await pool.fetch(Q["callback_deliveries"], marketplace_id, callback_id, limit, offset)
    tries = await delivery_attempts(pool, marketplace_id, [row["id"] for row in rows])
    deliveries = [
        CallbackDelivery(
            row["id"],
            row["event_id"],
            row["event_type"],
            row["entity_id"],
            row["status"],
            int(row["attempts"]),
            row["last_status_code"],
            row["last_error"],
            row["created_at"],
            row["updated_at"],
            tries.get(row["id"], []),
        )
        for row in rows
    ]
    return deliveries, int(rows[0]["total"]) if rows else 0


async def delivery_attempts(
    pool: asyncpg.Pool, marketplace_id: str, delivery_ids: list[str]
) -> dict[str, list[Attempt]]:
    """The attempts of the deliveries, oldest first, by delivery id."""
    if not delivery_ids:
        return {}
    found: dict[str, list[Attempt]] = {}
    for row in await pool.fetch(Q["delivery_attempts"], marketplace_id, delivery_ids):
        found.setdefault(row["delivery_id"], []).append(
            Attempt(
                int(row["id"]),
                row["attempted_at"],
                row["response_status"],
                int(row["latency_ms"]),
                row["response_excerpt"],
                row["error"],
            )
        )
    return found


@dataclass(frozen=True)
class RailTransfer:
    """A transfer that travels on the ACH rail; the rail's entry has its id."""

    id: str
    kind: str
    status: str
    amount_cents: int
    order_id: str | None
    rail_entry_kind: str
    failure_reason_code: str | None
    submitted_at: datetime | None
    created_at: datetime


def _rail_transfer(row: asyncpg.Record) -> RailTransfer:
    return RailTransfer(
        row["id"],
        row["kind"],
        row["status"],
        int(row["amount_cents"]),
        row["order_id"],
        row["rail_entry_kind"],
        row["failure_reason_code"],
        row["submitted_at"],
        row["created_at"],
    )


async def rail_transfer(pool: asyncpg.Pool, marketplace_id: str, transfer_id: str) -> RailTransfer:
    """The marketplace's transfer on the rail, or NotFound (another's, a card's, none)."""
    row = await pool.fetchrow(Q["rail_transfer"], marketplace_id, transfer_id)
    if row is None:
        raise NotFound(f"No transfer {transfer_id} of this marketplace travels on the rail.")
    return _rail_transfer(row)


async def rail_transfers_pending(pool: asyncpg.Pool, marketplace_id: str) -> list[RailTransfer]:
    rows = await pool.fetch(Q["rail_transfers_pending"], marketplace_id, RAIL_TRANSFERS_MAX)
    return [_rail_transfer(row) for row in rows]


@dataclass(frozen=True)
class ApiKey:
    id: str
    created_at: datetime
    revoked_at: datetime | None


async def api_keys(
    pool: asyncpg.Pool, marketplace_id: str, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    """One page of the marketplace's keys, revoked ones too, newest first."""
    rows = await pool.fetch(Q["api_keys"], marketplace_id, limit, offset)
    keys = [ApiKey(row["id"], row["created_at"], row["revoked_at"]) for row in rows]
    return keys, int(rows[0]["total"]) if rows else 0


@dataclass(frozen=True)
class EventRow:
    id: str
    type: str
    entity_id: str
    status: str | None
    occurred_at: datetime


async def events_newest(
    pool: asyncpg.Pool,
    marketplace_id: str,
    entity_id: str | None,
    event_type: str | None,
    limit: int,
    offset: int,
) -> tuple[list[EventRow], int]:
    """One page of the event log, newest first, and how many events match."""
    rows = await pool.fetch(
        Q["events_newest"], marketplace_id, entity_id, event_type, limit, offset
    )
    events = [
        EventRow(row["id"], row["type"], row["entity_id"], row["status"], row["occurred_at"])
        for row in rows
    ]
    return events, int(rows[0]["total"]) if rows else 0


# ---------------------------------------------------------------------------------------
# The money pages: orders, transactions, customers.

# An order's timeline shows at most this many transfers (an order is one purchase).
TIMELINE_ROWS_MAX = 500
# A customer's page lists at most this many of its bank accounts and of its cards.
INSTRUMENTS_MAX = 100
# Into escrow (+) or out of it (-): what each kind of an order's transfer does to it.
ESCROW_DIRECTION = {"debit": 1, "refund": -1, "credit": -1, "reversal": 1}


@dataclass(frozen=True)
class OrderRow:
    id: str
    description: str | None
    merchant_customer_id: str
    merchant_name: str | None
    amount_escrowed_cents: int
    created_at: datetime


async def orders_found(
    pool: asyncpg.Pool, marketplace_id: str, search: str | None, limit: int, offset: int
) -> tuple[list[OrderRow], int]:
    """One page of the orders, newest first: all, or those matching `search` (the id, or
    text in the description)."""
    rows = await pool.fetch(Q["orders_found"], marketplace_id, search, limit, offset)
    orders = [_record(OrderRow, row) for row in rows]
    return orders, int(rows[0]["total"]) if rows else 0


@dataclass(frozen=True)
class TimelineEntry:
    """One transfer of an order, signed as it moves the escrow."""

    id: str
    kind: str
    status: str
    amount_cents: int
    parent_id: str | None
    destination_id: str | None
    destination_kind: str | None
    bank_account_id: str | None
    failure_reason_code: str | None
    failure_reason: str | None
    created_at: datetime
    #: What is left to refund (a debit) or reverse (a credit).
    remaining_cents: int

    @property
    def escrow_cents(self) -> int:
        """The amount signed: into escrow positive, out of it negative."""
        return ESCROW_DIRECTION.get(self.kind, 0) * self.amount_cents


async def order_timeline(
    pool: asyncpg.Pool, marketplace_id: str, order_id: str
) -> list[TimelineEntry]:
    rows = await pool.fetch(Q["order_timeline"], marketplace_id, order_id, TIMELINE_ROWS_MAX)
    return [_record(TimelineEntry, row) for row in rows]


@dataclass(frozen=True)
class TransferState:
    id: str
    kind: str
    status: str
    failure_reason_code: str | None


async def transfer_state(
    pool: asyncpg.Pool, marketplace_id: str, transfer_id: str
) -> TransferState:
    row = await pool.fetchrow(Q["transfer_state"], marketplace_id, transfer_id)
    if row is None:
        raise NotFound(f"Transfer {transfer_id} could not be found.")
    return _record(TransferState, row)


@dataclass(frozen=True)
class TransferFilter:
    """Which transfers the Transactions page lists: each bound applies when set; the
    creation range is [created_from, created_until)."""

    kind: str | None = None
    status: str | None = None
    amount_cents_min: int | None = None
    amount_cents_max: int | None = None
    created_from: datetime | None = None
    created_until: datetime | None = None


@dataclass(frozen=True)
class TransferRow:
    id: str
    kind: str
    status: str
    amount_cents: int
    description: str | None
    order_id: str | None
    customer_id: str | None
    source_id: str | None
    destination_id: str | None
    failure_reason_code: str | None
    transaction_number: str
    created_at: datetime


async def transfers_found(
    pool: asyncpg.Pool, marketplace_id: str, wanted: TransferFilter, limit: int, offset: int
) -> tuple[list[TransferRow], int]:
    """One page of every kind of transfer, newest first, and how many match."""
    rows = await pool.fetch(
        Q["transfers_found"],
        marketplace_id,
        wanted.kind,
        wanted.status,
        wanted.amount_cents_min,
        wanted.amount_cents_max,
        wanted.created_from,
        wanted.created_until,
        limit,
        offset,
    )
    found = [_record(TransferRow, row) for row in rows]
    return found, int(rows[0]["total"]) if rows else 0


@dataclass(frozen=True)
class CustomerRow:
    id: str
    name: str | None
    business_name: str | None
    email: str | None
    merchant_status: str
    created_at: datetime


async def customers_found(
    pool: asyncpg.Pool, marketplace_id: str, search: str | None, limit: int, offset: int
) -> tuple[list[CustomerRow], int]:
    """One page of the live customers, newest first: all, or those matching `search` (the
    id, or text in the name, business name or email)."""
    rows = await pool.fetch(Q["customers_found"], marketplace_id, search, limit, offset)
    found = [_record(CustomerRow, row) for row in rows]
    return found, int(rows[0]["total"]) if rows else 0


@dataclass(frozen=True)
class Customer:
    id: str
    name: str | None
    business_name: str | None
    email: str | None
    phone: str | None
    merchant_status: str
    meta: dict[str, str]
    created_at: datetime
    deleted_at: datetime | None


async def customer(pool: asyncpg.Pool, marketplace_id: str, customer_id: str) -> Customer:
    row = await pool.fetchrow(Q["customer"], marketplace_id, customer_id)
    if row is None:
        raise NotFound(f"Customer {customer_id} could not be found.")
    return _record(Customer, row, meta=dict(row["meta"] or {}))


@dataclass(frozen=True)
class BankAccountRow:
    id: str
    name: str | None
    bank_name: str
    account_type: str
    last4: str
    routing_number: str
    created_at: datetime


async def customer_bank_accounts(
    pool: asyncpg.Pool, marketplace_id: str, customer_id: str
) -> list[BankAccountRow]:
    rows = await pool.fetch(
        Q["customer_bank_accounts"], marketplace_id, customer_id, INSTRUMENTS_MAX
    )
    return [_record(BankAccountRow, row) for row in rows]


@dataclass(frozen=True)
class CardRow:
    id: str
    name: str | None
    brand: str
    last4: str
    card_type: str
    expiration_month: int
    expiration_year: int
    created_at: datetime


async def customer_cards(
    pool: asyncpg.Pool, marketplace_id: str, customer_id: str
) -> list[CardRow]:
    rows = await pool.fetch(Q["customer_cards"], marketplace_id, customer_id, INSTRUMENTS_MAX)
    return [_record(CardRow, row) for row in rows]


# The escrow chart shows at most this many of an order's latest postings.
ESCROW_POINTS_MAX = 200


@dataclass(frozen=True)
class EscrowPoint:
    """The order's escrow right after one posting that moved it."""

    posting_id: int
    transaction_id: str
    kind: str  # The kind of transfer that posted it: debit, credit, reversal, ...
    created_at: datetime
    moved_cents: int  # Into the escrow positive, out of it negative.
    balance_cents: int


async def order_escrow_history(
    pool: asyncpg.Pool, marketplace_id: str, order_id: str
) -> list[EscrowPoint]:
    """Oldest first: the balance of the order's escrow after each posting on it."""
    rows = await pool.fetch(Q["order_escrow_history"], marketplace_id, order_id, ESCROW_POINTS_MAX)
    return [
        _record(EscrowPoint, row, moved_cents=int(row["amount_cents"])) for row in reversed(rows)
    ]
