"""Customers as Balanced clients change them: their details and underwriting, their
default funding instruments, attaching cards and bank accounts to them, and unstoring
(DELETE) customers and instruments.

Unstoring marks a row and keeps it: the transfers that moved money at an instrument keep
pointing at it, and it stays readable by its href, but it is hidden from lists and never
debited or credited again (`instruments.usable_card`, `usable_bank_account`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from ledger import events, ids, instruments, wire
from ledger.errors import Conflict, NotFound, RequestInvalid
from ledger.outbox import Job
from ledger.sql import QUERIES

Q = QUERIES["customers"]

# The customer's details a client may change (Balanced's CustomerUpdateForm).
DETAILS = (
    "name",
    "business_name",
    "email",
    "phone",
    "ssn_last4",
    "ein",
    "dob_month",
    "dob_year",
    "address",
    "meta",
)


@dataclass(frozen=True)
class Defaults:
    """Default funding instruments to name: an id, or None to leave that one as it is.
    `clear_*` drops a named default (JSON Patch `remove`), so the implicit one applies."""

    source_id: str | None = None
    destination_id: str | None = None
    clear_source: bool = False
    clear_destination: bool = False


async def live_customer(
    connection: asyncpg.Connection, marketplace_id: str, customer_id: str
) -> dict[str, Any]:
    """The customer, locked, unless it was deleted: a deleted customer is only read."""
    row = await connection.fetchrow(Q["lock_customer"], marketplace_id, customer_id)
    if row is None or row["deleted_at"] is not None:
        raise NotFound(f"Customer {customer_id} could not be found.")
    return dict(row)


async def update_customer(
    connection: asyncpg.Connection,
    marketplace_id: str,
    customer_id: str,
    changes: dict[str, Any],
    defaults: Defaults,
) -> tuple[dict[str, Any], list[Job]]:
    """Change the details in `changes` (the others stay), underwrite again from the result,
    and name the default instruments of `defaults`; one `account.updated` event."""
    current = await live_customer(connection, marketplace_id, customer_id)
    row = await _write(connection, current, changes, defaults)
    entity = wire.envelope("customers", [wire.customer(row)])
    jobs = await events.record(connection, marketplace_id, "account.updated", customer_id, entity)
    return row, jobs


async def create_customer(
    connection: asyncpg.Connection,
    marketplace_id: str,
    fields: dict[str, Any],
    defaults: Defaults,
) -> tuple[dict[str, Any], list[Job]]:
    """A customer (`instruments.insert_customer`) that may name its default instruments at
    once; one `account.created` event (Balanced calls customers "accounts" there)."""
    row = await instruments.insert_customer(
        connection, marketplace_id, ids.new_id("customer"), fields
    )
    if defaults.source_id is not None or defaults.destination_id is not None:
        row = await _write(connection, row, {}, defaults)
    # Otherwise it has no instruments yet, so no default: `wire.customer` shows none.
    entity = wire.envelope("customers", [wire.customer(row)])
    jobs = await events.record(connection, marketplace_id, "account.created", row["id"], entity)
    return row, jobs


async def _write(
    connection: asyncpg.Connection,
    current: dict[str, Any],
    changes: dict[str, Any],
    defaults: Defaults,
) -> dict[str, Any]:
    marketplace_id, customer_id = current["marketplace_id"], current["id"]
    merged = {key: current[key] for key in DETAILS} | {
        key: value for key, value in changes.items() if key in DETAILS
    }
    merged["address"] = dict(merged["address"] or {})
    source_card_id, source_bank_account_id = await _source(
        connection, current, defaults.source_id, defaults.clear_source
    )
    destination_id = await _destination(
        connection, current, defaults.destination_id, defaults.clear_destination
    )
    updated = await connection.fetchval(
        Q["update_customer"],
        marketplace_id,
        customer_id,
        *(merged[key] for key in DETAILS[:-1]),
        instruments.merchant_status(merged),
        merged["meta"],
        source_card_id,
        source_bank_account_id,
        destination_id,
    )
    assert updated == customer_id
    return await instruments.get_customer(connection, marketplace_id, customer_id)


async def _source(
    connection: asyncpg.Connection, customer: dict[str, Any], wanted: str | None, clear: bool
) -> tuple[str | None, str | None]:
    """(card, bank account) to store as the named default source."""
    if clear:
        return None, None
    if wanted is None:
        return customer["source_card_id"], customer["source_bank_account_id"]
    await _adopt(connection, customer, wanted, "source")
    return (wanted, None) if wanted.startswith("CC") else (None, wanted)


async def _destination(
    connection: asyncpg.Connection, customer: dict[str, Any], wanted: str | None, clear: bool
) -> str | None:
    if clear:
        return None
    if wanted is None:
        current: str | None = customer["destination_bank_account_id"]
        return current
    if not wanted.startswith("BA"):
        raise RequestInvalid(
            "A customer's destination is a bank account.",
            extras={"links.destination": "must be a bank account id or href"},
        )
    await _adopt(connection, customer, wanted, "destination")
    return wanted


async def _adopt(
    connection: asyncpg.Connection, customer: dict[str, Any], instrument_id: str, role: str
) -> None:
    """An instrument named as a default becomes the customer's own if it was nobody's
    (Balanced: a new buyer is created with `"source": <a card tokenized just before>`)."""
    marketplace_id = customer["marketplace_id"]
    if instrument_id.startswith("CC"):
        row = await instruments.usable_card(connection, marketplace_id, instrument_id, role)
        if row["customer_id"] is None:
            await attach_card(connection, marketplace_id, instrument_id, customer["id"], None)
    else:
        row = await instruments.usable_bank_account(connection, marketplace_id, instrument_id, role)
        if row["customer_id"] is None:
            await instruments.update_bank_account(
                connection, marketplace_id, instrument_id, customer["id"], None
            )
    if row["customer_id"] not in (None, customer["id"]):
        raise Conflict(
            f"The given funding {role} is already associated with another customer.",
            category_code=f"funding-{role}-already-associated",
        )


async def delete_customer(
    connection: asyncpg.Connection, marketplace_id: str, customer_id: str
) -> list[Job]:
    """Unstore a customer: hidden from `GET /customers`, still readable, and no longer
    given instruments, defaults or transfers through its own routes."""
    row = await instruments.get_customer(connection, marketplace_id, customer_id)
    if row["deleted_at"] is not None:
        return []  # Deleted already: DELETE is idempotent, and said so once.
    deleted = await connection.fetchval(Q["delete_customer"], marketplace_id, customer_id)
    assert deleted == customer_id
    entity = wire.envelope("customers", [wire.customer(row)])
    return await events.record(connection, marketplace_id, "account.deleted", customer_id, entity)


async def attach_card(
    connection: asyncpg.Connection,
    marketplace_id: str,
    card_id: str,
    customer_id: str | None,
    meta: dict[str, str] | None,
) -> tuple[dict[str, Any], list[Job]]:
    """`PUT /cards/:id`: attach the card to a customer (once: never to another) and/or
    replace its meta; one `card.updated` event."""
    current = await instruments.get_card(connection, marketplace_id, card_id)
    if customer_id is not None:
        await live_customer(connection, marketplace_id, customer_id)
        if current["customer_id"] not in (None, customer_id):
            raise Conflict(
                "The card is already associated with an account -- it cannot be associated again.",
                category_code="card-already-funding-src",
            )
        if current["deleted_at"] is not None and current["customer_id"] is None:
            raise instruments.unusable("card", card_id, "associated")
    row = await connection.fetchrow(Q["update_card"], marketplace_id, card_id, customer_id, meta)
    assert row is not None
    entity = wire.envelope("cards", [wire.card(row)])
    jobs = await events.record(connection, marketplace_id, "card.updated", card_id, entity)
    return dict(row), jobs


async def unstore(
    connection: asyncpg.Connection, marketplace_id: str, instrument_id: str
) -> list[Job]:
    """DELETE a card or a bank account: `card.invalidated` / `bank_account.invalidated`,
    once (unstoring it again changes nothing)."""
    if instrument_id.startswith("CC"):
        current = await instruments.get_card(connection, marketplace_id, instrument_id)
        query, plural, render = "unstore_card", "cards", wire.card
    else:
        current = await instruments.get_bank_account(connection, marketplace_id, instrument_id)
        query, plural, render = "unstore_bank_account", "bank_accounts", wire.bank_account
    if current["deleted_at"] is not None:
        return []
    row = await connection.fetchrow(Q[query], marketplace_id, instrument_id)
    assert row is not None, instrument_id
    entity = wire.envelope(plural, [render(row)])
    event_type = f"{plural.removesuffix('s')}.invalidated"
    return await events.record(connection, marketplace_id, event_type, instrument_id, entity)


async def add_instrument(
    connection: asyncpg.Connection,
    marketplace_id: str,
    customer_id: str,
    kind: str,
    fields: dict[str, Any],
    *,
    fingerprint_key: bytes,
) -> tuple[dict[str, Any], list[Job]]:
    """`POST /customers/:id/cards` (`kind="card"`) or `/bank_accounts`: tokenize the
    instrument as the customer's own."""
    await live_customer(connection, marketplace_id, customer_id)
    if kind == "card":
        return await instruments.create_card(
            connection, marketplace_id, fields, customer_id, fingerprint_key=fingerprint_key
        )
    assert kind == "bank_account", kind
    return await instruments.create_bank_account(
        connection, marketplace_id, fields, customer_id, fingerprint_key=fingerprint_key
    )
