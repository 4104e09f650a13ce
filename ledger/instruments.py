"""Customers and their funding instruments: bank accounts and cards.

Card numbers never reach the database: a card is tokenized into its last four digits, a
fingerprint and the simulated processor's verdict, decided once from Balanced's test
numbers."""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg

from ledger import accounts, events, ids, wire
from ledger.errors import Conflict, NotFound, RequestInvalid
from ledger.outbox import Job
from ledger.sql import QUERIES

Q = QUERIES["customers"]

# Balanced's test routing numbers that must be refused as invalid.
INVALID_TEST_ROUTING_NUMBERS = frozenset({"100000007", "111111118"})
BANK_NAMES = {
    "021000021": "JPMORGAN CHASE BANK",
    "321174851": "SAN MATEO CREDIT UNION",
    "121000358": "BANK OF AMERICA, N.A.",
}
# Cards the simulated processor declines when debited, and cards refused at tokenization.
DECLINED_CARD_NUMBERS = frozenset({"4444444444444448"})
INVALID_CARD_NUMBERS = frozenset({"4222222222222220"})
DEBIT_CARD_NUMBERS = frozenset({"4342561111111118", "4210101111111112"})
# A debit card to which a pushed credit stays pending.
PENDING_PUSH_CARD_NUMBERS = frozenset({"4210101111111112"})


def merchant_status(fields: dict[str, Any]) -> str:
    """Test-mode underwriting: name, date of birth and postal code make a merchant."""
    address = fields.get("address") or {}
    identity = [fields.get("name"), fields.get("dob_month"), fields.get("dob_year")]
    if all(identity) and address.get("postal_code"):
        return "underwritten"
    return "no-match"


async def insert_customer(
    connection: asyncpg.Connection, marketplace_id: str, customer_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    row = await connection.fetchrow(
        Q["insert_customer"],
        customer_id,
        marketplace_id,
        fields.get("name"),
        fields.get("business_name"),
        fields.get("email"),
        fields.get("phone"),
        fields.get("ssn_last4"),
        fields.get("ein"),
        fields.get("dob_month"),
        fields.get("dob_year"),
        fields.get("address") or {},
        merchant_status(fields),
        fields.get("meta") or {},
    )
    assert row is not None
    await accounts.open_payable(connection, marketplace_id, customer_id)
    return dict(row)


async def create_customer(
    connection: asyncpg.Connection, marketplace_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], list[Job]]:
    """A customer, with its payable account and its `account.created` event (Balanced calls
    customers "accounts" in its event types)."""
    row = await insert_customer(connection, marketplace_id, ids.new_id("customer"), fields)
    entity = wire.envelope("customers", [wire.customer(row)])
    jobs = await events.record(connection, marketplace_id, "account.created", row["id"], entity)
    return row, jobs


async def _instrument_event(
    connection: asyncpg.Connection, row: dict[str, Any], event_type: str
) -> list[Job]:
    plural, render = (
        ("cards", wire.card) if row["id"].startswith("CC") else ("bank_accounts", wire.bank_account)
    )
    entity = wire.envelope(plural, [render(row)])
    return await events.record(connection, row["marketplace_id"], event_type, row["id"], entity)


async def get_customer(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, customer_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get_customer"], marketplace_id, customer_id)
    if row is None:
        raise NotFound(f"Customer {customer_id} could not be found.")
    return dict(row)


def routing_number_valid(routing_number: str) -> bool:
    """The ABA checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10)."""
    digits = [int(c) for c in routing_number]
    assert len(digits) == 9
    weights = (3, 7, 1) * 3
    checksum = sum(d * w for d, w in zip(digits, weights, strict=True))
    return checksum % 10 == 0 and routing_number not in INVALID_TEST_ROUTING_NUMBERS


async def create_bank_account(
    connection: asyncpg.Connection,
    marketplace_id: str,
    fields: dict[str, Any],
    customer_id: str | None = None,
) -> tuple[dict[str, Any], list[Job]]:
    routing_number = fields["routing_number"]
    if not routing_number_valid(routing_number):
        raise RequestInvalid(
            "The routing number provided for the bank account was invalid.",
            category_code="invalid-routing-number",
        )
    fingerprint_source = "|".join(
        [routing_number, fields["account_number"], fields.get("name") or "", fields["account_type"]]
    )
    row = await connection.fetchrow(
        Q["insert_bank_account"],
        ids.new_id("bank_account"),
        marketplace_id,
        customer_id,
        fields.get("name"),
        fields["account_number"],
        routing_number,
        fields["account_type"],
        BANK_NAMES.get(routing_number, "TEST BANK"),
        fields.get("address") or {},
        hashlib.sha256(fingerprint_source.encode()).hexdigest(),
        fields.get("meta") or {},
    )
    assert row is not None
    return dict(row), await _instrument_event(connection, dict(row), "bank_account.created")


async def get_bank_account(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, bank_account_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get_bank_account"], marketplace_id, bank_account_id)
    if row is None:
        raise NotFound(f"Bank account {bank_account_id} could not be found.")
    return dict(row)


async def update_bank_account(
    connection: asyncpg.Connection,
    marketplace_id: str,
    bank_account_id: str,
    customer_id: str | None,
    meta: dict[str, str] | None,
) -> tuple[dict[str, Any], list[Job]]:
    current = await get_bank_account(connection, marketplace_id, bank_account_id)
    if customer_id is not None:
        await get_customer(connection, marketplace_id, customer_id)
        if current["customer_id"] not in (None, customer_id):
            raise Conflict(
                "The bank account is already associated with an account -- it cannot be "
                "associated.",
                category_code="bank-account-already-associated",
            )
    row = await connection.fetchrow(
        Q["update_bank_account"], marketplace_id, bank_account_id, customer_id, meta
    )
    assert row is not None
    return dict(row), await _instrument_event(connection, dict(row), "bank_account.updated")


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith(("34", "37")):
        return "American Express"
    if number.startswith(("6011", "65")):
        return "Discover"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "MasterCard"
    return "Visa"


def _verdict(number: str) -> str:
    """What the simulated processor will answer for this card, decided once from
    Balanced's test numbers (the number itself is not kept)."""
    if number in DECLINED_CARD_NUMBERS:
        return "decline"
    return "approve_credit_pending" if number in PENDING_PUSH_CARD_NUMBERS else "approve"


async def create_card(
    connection: asyncpg.Connection, marketplace_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], list[Job]]:
    number = fields["number"]
    if not luhn_valid(number) or number in INVALID_CARD_NUMBERS:
        raise Conflict(
            "The card could not be validated -- either the card number or security code "
            "may be wrong.",
            category_code="card-not-validated",
        )
    expiry = f"{fields['expiration_month']:02d}{fields['expiration_year']}"
    row = await connection.fetchrow(
        Q["insert_card"],
        ids.new_id("card"),
        marketplace_id,
        None,
        fields.get("name"),
        number[-4:],
        len(number),
        card_brand(number),
        fields["expiration_month"],
        fields["expiration_year"],
        fields.get("cvv") is not None,
        "debit" if number in DEBIT_CARD_NUMBERS else "credit",
        _verdict(number),
        hashlib.sha256(f"{number}|{expiry}".encode()).hexdigest(),
        fields.get("address") or {},
        fields.get("meta") or {},
    )
    assert row is not None
    return dict(row), await _instrument_event(connection, dict(row), "card.created")


async def get_card(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, card_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get_card"], marketplace_id, card_id)
    if row is None:
        raise NotFound(f"Card {card_id} could not be found.")
    return dict(row)
