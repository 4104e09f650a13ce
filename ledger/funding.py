"""Transfers whose path names no instrument: a customer's (`POST /customers/:id/debits`,
`/credits`) move money at its default funding instruments, and root ones (`POST /debits`,
`POST /credits`) at the `source` or `destination` their body names, by id or href or as a
card or bank account to tokenize on the spot.

Each finds the instrument, then hands over to the nested form's own code (`debits`,
`credits`), so every rule of those (orders, escrow, payees, limits) applies unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from ledger import ach_debits, credits, customers, debits, instruments
from ledger.errors import Conflict, RequestInvalid
from ledger.outbox import Job
from ledger.transfers import TransferRequest, TransferResult


@dataclass(frozen=True)
class Instrument:
    """Where a root transfer moves money: an id (`CC…`, `BA…`, `AT…`), or the fields of a
    card (`kind="card"`) or bank account (`kind="bank_account"`) to tokenize first."""

    id: str | None = None
    kind: str | None = None
    fields: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        assert (self.id is None) != (self.fields is None), self
        assert self.fields is None or self.kind in ("card", "bank_account"), self


# A nested form's function: (connection, marketplace, instrument id, request) → result.
Move = Callable[[asyncpg.Connection, str, str, TransferRequest], Awaitable[TransferResult]]


async def debit_customer(
    connection: asyncpg.Connection, marketplace_id: str, customer_id: str, request: TransferRequest
) -> TransferResult:
    """Debit the customer's default source; 409 `no-funding-source` without one."""
    await customers.live_customer(connection, marketplace_id, customer_id)
    customer = await instruments.get_customer(connection, marketplace_id, customer_id)
    source_id = customer["source_id"]
    if source_id is None:
        raise Conflict(
            "The account has no valid funding sources.", category_code="no-funding-source"
        )
    return await _debit(connection, marketplace_id, source_id, request)


async def credit_customer(
    connection: asyncpg.Connection, marketplace_id: str, customer_id: str, request: TransferRequest
) -> TransferResult:
    """Credit the customer's default destination; 409 `no-funding-destination` without one."""
    await customers.live_customer(connection, marketplace_id, customer_id)
    customer = await instruments.get_customer(connection, marketplace_id, customer_id)
    destination_id = customer["destination_id"]
    if destination_id is None:
        raise Conflict(
            "The account has no valid funding destinations.",
            category_code="no-funding-destination",
        )
    return await credits.credit_bank_account(connection, marketplace_id, destination_id, request)


async def debit_root(
    connection: asyncpg.Connection,
    marketplace_id: str,
    source: Instrument,
    request: TransferRequest,
    *,
    fingerprint_key: bytes,
) -> TransferResult:
    """`POST /debits`: debit `source`, tokenizing it first when given inline."""
    source_id, jobs = await _instrument_id(connection, marketplace_id, source, fingerprint_key)
    result = await _debit(connection, marketplace_id, source_id, request)
    return replace(result, jobs=jobs + result.jobs)


async def credit_root(
    connection: asyncpg.Connection,
    marketplace_id: str,
    destination: Instrument,
    request: TransferRequest,
    *,
    fingerprint_key: bytes,
) -> TransferResult:
    """`POST /credits`: credit `destination` (a bank account, a debit card or a payable
    account), tokenizing it first when given inline."""
    destination_id, jobs = await _instrument_id(
        connection, marketplace_id, destination, fingerprint_key
    )
    move: Move
    if destination_id.startswith("BA"):
        move = credits.credit_bank_account
    elif destination_id.startswith("CC"):
        move = credits.credit_card
    else:
        assert destination_id.startswith("AT"), destination_id
        move = credits.credit_account
    result = await move(connection, marketplace_id, destination_id, request)
    return replace(result, jobs=jobs + result.jobs)


async def _debit(
    connection: asyncpg.Connection, marketplace_id: str, source_id: str, request: TransferRequest
) -> TransferResult:
    if source_id.startswith("CC"):
        return await debits.debit_card(connection, marketplace_id, source_id, request)
    # A bank account is debited over ACH, once a verification of it succeeded.
    assert source_id.startswith("BA"), source_id
    return await ach_debits.debit_bank_account(connection, marketplace_id, source_id, request)


async def _instrument_id(
    connection: asyncpg.Connection, marketplace_id: str, instrument: Instrument, key: bytes
) -> tuple[str, list[Job]]:
    """The instrument's id, and the jobs of tokenizing it when it was given inline."""
    if instrument.id is not None:
        return instrument.id, []
    assert instrument.fields is not None
    if instrument.kind == "card":
        row, jobs = await instruments.create_card(
            connection, marketplace_id, instrument.fields, fingerprint_key=key
        )
    elif instrument.kind == "bank_account":
        row, jobs = await instruments.create_bank_account(
            connection, marketplace_id, instrument.fields, fingerprint_key=key
        )
    else:
        raise RequestInvalid("An inline instrument is a card or a bank account.")
    identifier: str = row["id"]
    return identifier, jobs
