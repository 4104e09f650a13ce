"""Customers and their funding instruments: bank accounts and cards.

Card numbers never reach the database: a card is tokenized into its last four digits, a
fingerprint and the simulated processor's verdict, decided once from Balanced's test
numbers.

A fingerprint tells two cards (or bank accounts) with the same number apart from others,
for deduplication, and must reveal nothing of the number. A plain hash would: a card's
response shows its last four digits, length and expiry, and the issuer's BIN is public,
which leaves about a million candidates, hashed in under a second. So a fingerprint is
keyed: HMAC-SHA256, under the installation's secret key (BALLAST_FINGERPRINT_KEY, kept
outside the database), of the SHA-256 of the canonical details. The inner hash is what
fingerprints were before they were keyed, so that rows made then (which keep no card
number) can be re-keyed in place: `key_fingerprints`."""

from __future__ import annotations

import hashlib
import hmac
import math
from typing import Any

import asyncpg

from ledger import accounts, events, ids, wire
from ledger.errors import BalancedError, Conflict, NotFound, RequestInvalid
from ledger.outbox import Job
from ledger.sql import QUERIES

Q = QUERIES["customers"]

# Rows re-keyed per transaction by `key_fingerprints`: small enough to hold row locks only
# briefly, large enough that a million rows take a thousand round trips, not a million.
FINGERPRINT_KEY_BATCH_ROWS = 1000

# Balanced's test routing numbers that must be refused as invalid.
INVALID_TEST_ROUTING_NUMBERS = frozenset({"100000007", "111111118"})
BANK_NAMES = {
    "021000021": "JPMORGAN CHASE BANK",
    "321174851": "SAN MATEO CREDIT UNION",
    "121000358": "BANK OF AMERICA, N.A.",
    "322271627": "J.P. MORGAN CHASE BANK, N.A.",
}
# Cards the simulated processor declines when debited, and cards refused at tokenization.
DECLINED_CARD_NUMBERS = frozenset({"4444444444444448"})
INVALID_CARD_NUMBERS = frozenset({"4222222222222220"})
DEBIT_CARD_NUMBERS = frozenset({"4342561111111118", "4210101111111112"})
# Balanced's test answers to a card's CVV (by card number) and address (AVS); any other
# value given matches.
CVV_ANSWERS = {"5112000200000002": "no", "4457000300000007": "unsupported"}
AVS_POSTAL_ANSWERS = {"90210": "no", "90211": "unsupported"}
AVS_STREET_ANSWERS = {"21 Jump St": "no"}
# A debit card to which a pushed credit stays pending.
PENDING_PUSH_CARD_NUMBERS = frozenset({"4210101111111112"})
# Balanced's card whose debits succeed and are then disputed by the cardholder.
DISPUTED_CARD_NUMBERS = frozenset({"6500000000000002"})


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


def unusable(kind: str, instrument_id: str, purpose: str) -> BalancedError:
    """The error for an unstored card or bank account asked to be `purpose` ("debited",
    "credited", …): Balanced answers a credit to a deleted card with 400 `request`, and
    anything else done with a deactivated instrument with `card-not-valid` /
    `bank-account-not-valid` (409)."""
    noun = "card" if kind == "card" else "bank account"
    description = f"The {noun} {instrument_id} was unstored; it cannot be {purpose}."
    if purpose == "credited":
        return RequestInvalid(description, extras={kind: "unstored"})
    code = "card-not-valid" if kind == "card" else "bank-account-not-valid"
    return Conflict(description, category_code=code)


async def usable_card(
    connection: asyncpg.Connection, marketplace_id: str, card_id: str, purpose: str
) -> dict[str, Any]:
    """The card, unless it was unstored (see `unusable`)."""
    row = await get_card(connection, marketplace_id, card_id)
    if row["deleted_at"] is not None:
        raise unusable("card", card_id, purpose)
    return row


async def usable_bank_account(
    connection: asyncpg.Connection, marketplace_id: str, bank_account_id: str, purpose: str
) -> dict[str, Any]:
    """The bank account, unless it was unstored (see `unusable`)."""
    row = await get_bank_account(connection, marketplace_id, bank_account_id)
    if row["deleted_at"] is not None:
        raise unusable("bank_account", bank_account_id, purpose)
    return row


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
    *,
    fingerprint_key: bytes,
) -> tuple[dict[str, Any], list[Job]]:
    routing_number = fields["routing_number"]
    if not routing_number_valid(routing_number):
        raise RequestInvalid(
            "The routing number provided for the bank account was invalid.",
            category_code="invalid-routing-number",
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
        fingerprint(fingerprint_key, _bank_account_details(fields)),
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
        customer = await get_customer(connection, marketplace_id, customer_id)
        if customer["deleted_at"] is not None:
            raise NotFound(f"Customer {customer_id} could not be found.")
        if current["customer_id"] not in (None, customer_id):
            raise Conflict(
                "The bank account is already associated with an account -- it cannot be "
                "associated.",
                category_code="bank-account-already-associated",
            )
        if current["deleted_at"] is not None and current["customer_id"] is None:
            raise unusable("bank_account", bank_account_id, "associated")
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
    if number in DISPUTED_CARD_NUMBERS:
        return "approve_dispute"
    return "approve_credit_pending" if number in PENDING_PUSH_CARD_NUMBERS else "approve"


async def create_card(
    connection: asyncpg.Connection,
    marketplace_id: str,
    fields: dict[str, Any],
    customer_id: str | None = None,
    *,
    fingerprint_key: bytes,
) -> tuple[dict[str, Any], list[Job]]:
    number = fields["number"]
    if not luhn_valid(number) or number in INVALID_CARD_NUMBERS:
        raise Conflict(
            "The card could not be validated -- either the card number or security code "
            "may be wrong.",
            category_code="card-not-validated",
        )
    expiry = f"{fields['expiration_month']:02d}{fields['expiration_year']}"
    # Only the fingerprint carries anything of the whole number out of this function.
    card_fingerprint = fingerprint(fingerprint_key, f"{number}|{expiry}")
    row = await connection.fetchrow(
        Q["insert_card"],
        ids.new_id("card"),
        marketplace_id,
        customer_id,
        fields.get("name"),
        number[-4:],
        len(number),
        card_brand(number),
        fields["expiration_month"],
        fields["expiration_year"],
        fields.get("cvv") is not None,
        "debit" if number in DEBIT_CARD_NUMBERS else "credit",
        _verdict(number),
        card_fingerprint,
        fields.get("address") or {},
        fields.get("meta") or {},
        *card_checks(number, fields),
    )
    assert row is not None
    return dict(row), await _instrument_event(connection, dict(row), "card.created")


def card_checks(number: str, fields: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """What the simulated processor answers to a card's CVV, postal code and street (each
    None when not given), from Balanced's test values."""
    address = fields.get("address") or {}
    cvv = None
    if fields.get("cvv") is not None:
        cvv = CVV_ANSWERS.get(number, "yes")
    postal = address.get("postal_code")
    postal_match = None if not postal else AVS_POSTAL_ANSWERS.get(postal, "yes")
    street = address.get("line1")
    street_match = None if not street else AVS_STREET_ANSWERS.get(street, "yes")
    return cvv, postal_match, street_match


async def get_card(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, card_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get_card"], marketplace_id, card_id)
    if row is None:
        raise NotFound(f"Card {card_id} could not be found.")
    return dict(row)


def fingerprint(key: bytes, details: str) -> str:
    """The keyed fingerprint of canonical `details` (see the module docstring)."""
    return rekeyed_fingerprint(key, hashlib.sha256(details.encode()).hexdigest())


def rekeyed_fingerprint(key: bytes, unkeyed: str) -> str:
    """The keyed fingerprint of a row whose fingerprint `unkeyed` predates the key."""
    assert len(key) > 0, "an empty key is no key"
    assert len(unkeyed) == hashlib.sha256().digest_size * 2, unkeyed
    return hmac.new(key, unkeyed.encode(), hashlib.sha256).hexdigest()


def _bank_account_details(row: dict[str, Any]) -> str:
    parts = [row["routing_number"], row["account_number"], row.get("name") or ""]
    return "|".join([*parts, row["account_type"]])


async def key_fingerprints(pool: asyncpg.Pool, key: bytes) -> int:
    """Give every card and bank account whose fingerprint predates the key (migration
    0003 marks them `fingerprint_keyed = false`) its keyed fingerprint; return how many.

    Run by the API at start-up; once done it finds nothing. Each row changes at most once,
    since its flag is set in the same statement, under a row lock: API processes starting
    together share the work (SKIP LOCKED) and never key a fingerprint twice."""
    assert len(key) > 0
    keyed = 0
    for kind, rekey in (("cards", _rekey_cards), ("bank_accounts", _rekey_bank_accounts)):
        remaining = await pool.fetchval(Q[f"count_unkeyed_{kind}"])
        # Bounded: rows made unkeyed meanwhile (by a process still running the code of
        # before the key) wait for the next start.
        for _ in range(math.ceil(remaining / FINGERPRINT_KEY_BATCH_ROWS)):
            async with pool.acquire() as connection, connection.transaction():
                changed = await rekey(connection, key)
            keyed += changed
            if changed == 0:
                break
    return keyed


async def _rekey_cards(connection: asyncpg.Connection, key: bytes) -> int:
    rows = await connection.fetch(Q["lock_unkeyed_cards"], FINGERPRINT_KEY_BATCH_ROWS)
    ids = [row["id"] for row in rows]
    fingerprints = [rekeyed_fingerprint(key, row["fingerprint"]) for row in rows]
    changed: int = await connection.fetchval(Q["key_card_fingerprints"], ids, fingerprints)
    assert changed == len(rows), (changed, len(rows))
    return changed


async def _rekey_bank_accounts(connection: asyncpg.Connection, key: bytes) -> int:
    """Bank accounts keep their number: their fingerprint is computed again from it."""
    rows = await connection.fetch(Q["lock_unkeyed_bank_accounts"], FINGERPRINT_KEY_BATCH_ROWS)
    ids = [row["id"] for row in rows]
    fingerprints = [fingerprint(key, _bank_account_details(dict(row))) for row in rows]
    changed: int = await connection.fetchval(Q["key_bank_account_fingerprints"], ids, fingerprints)
    assert changed == len(rows), (changed, len(rows))
    return changed


async def _page(
    query: str,
    pool: asyncpg.Pool,
    marketplace_id: str,
    customer_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(Q[query], marketplace_id, customer_id, limit, offset)
    total = int(rows[0]["total"]) if rows else 0
    return [dict(row) for row in rows], total


async def list_customers(
    pool: asyncpg.Pool, marketplace_id: str, customer_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a marketplace's customers (`customer_id` narrows it to one), and the
    count of all."""
    return await _page("list_customers", pool, marketplace_id, customer_id, limit, offset)


async def list_bank_accounts(
    pool: asyncpg.Pool, marketplace_id: str, customer_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a marketplace's bank accounts (or one customer's), and the count of all."""
    return await _page("list_bank_accounts", pool, marketplace_id, customer_id, limit, offset)


async def list_cards(
    pool: asyncpg.Pool, marketplace_id: str, customer_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a marketplace's cards (or one customer's), and the count of all."""
    return await _page("list_cards", pool, marketplace_id, customer_id, limit, offset)


async def list_order_buyers(
    pool: asyncpg.Pool, marketplace_id: str, order_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the customers whose debits paid into an order (`orders.buyers`)."""
    return await _page("list_order_buyers", pool, marketplace_id, order_id, limit, offset)
