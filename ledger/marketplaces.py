"""Marketplaces and the API keys that own them."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import asyncpg

from ledger import ids, instruments, postings
from ledger.errors import Conflict, NotFound
from ledger.sql import QUERIES

Q = QUERIES["marketplaces"]

# Every marketplace gets an owner customer and a bank account for its cut; the test bank
# account that always succeeds, so the walkthrough's 1000-cent cut settles.
OWNER_ROUTING_NUMBER = "021000021"
OWNER_ACCOUNT_NUMBER = "9900000002"


def secret_sha256(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_api_key(
    connection: asyncpg.Connection, marketplace_id: str | None
) -> tuple[dict[str, Any], str]:
    """A new key (bound to `marketplace_id`, or to none yet); returns (row, secret)."""
    secret = ids.new_api_key_secret()
    row = await connection.fetchrow(
        Q["insert_api_key"], ids.new_id("api_key"), secret_sha256(secret), marketplace_id
    )
    assert row is not None
    return dict(row), secret


async def authenticate(pool: asyncpg.Pool, secret: str) -> asyncpg.Record | None:
    """The live key with this secret. The lookup is by hash, so a timing difference could
    only reveal a prefix of a SHA-256, never of the secret; the final comparison is
    constant-time all the same."""
    digest = secret_sha256(secret)
    key = await pool.fetchrow(Q["api_key_by_secret"], digest)
    if key is None or not hmac.compare_digest(bytes(key["secret_sha256"]), digest):
        return None
    return key


async def list_api_keys(
    pool: asyncpg.Pool, marketplace_id: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(Q["list_api_keys"], marketplace_id, limit, offset)
    return [dict(row) for row in rows], int(rows[0]["total"]) if rows else 0


async def get_api_key(
    pool: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, key_id: str
) -> dict[str, Any]:
    row = await pool.fetchrow(Q["get_api_key"], marketplace_id, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} could not be found.")
    return dict(row)


async def revoke_api_key(pool: asyncpg.Pool, marketplace_id: str, key_id: str) -> None:
    if await pool.fetchval(Q["revoke_api_key"], marketplace_id, key_id) is None:
        raise NotFound(f"API key {key_id} could not be found.")


async def create(
    connection: asyncpg.Connection,
    api_key_id: str,
    fields: dict[str, Any],
    *,
    fingerprint_key: bytes,
) -> dict[str, Any]:
    """The key's marketplace, its owner customer with a bank account, and its ledger."""
    marketplace_id = ids.new_id("marketplace")
    owner_id = ids.new_id("customer")
    name = fields.get("name") or "Test Marketplace"
    await connection.execute(
        Q["insert_marketplace"],
        marketplace_id,
        name,
        fields.get("domain_url") or "example.com",
        fields.get("support_email_address") or "support@example.com",
        fields.get("support_phone_number") or "+16505551234",
        owner_id,
    )
    await instruments.insert_customer(
        connection, marketplace_id, owner_id, {"name": name, "meta": {}}
    )
    await instruments.create_bank_account(
        connection,
        marketplace_id,
        {
            "name": name,
            "routing_number": OWNER_ROUTING_NUMBER,
            "account_number": OWNER_ACCOUNT_NUMBER,
            "account_type": "checking",
            "meta": {},
        },
        customer_id=owner_id,
        fingerprint_key=fingerprint_key,
    )
    await postings.open_marketplace_accounts(connection, marketplace_id)
    if await connection.fetchval(Q["bind_api_key"], api_key_id, marketplace_id) is None:
        raise Conflict(
            "Marketplace has already been created.", category_code="marketplace-already-created"
        )
    return await get(connection, marketplace_id)


async def get(connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get"], marketplace_id)
    if row is None:
        raise NotFound(f"Marketplace {marketplace_id} could not be found.")
    return dict(row)


async def shortfall_cents(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str
) -> int:
    """What the marketplace is out because reversals were returned after their escrow was
    paid out again (a positive amount; the ledger account holds it as a negative balance)."""
    balance_cents: int | None = await connection.fetchval(
        QUERIES["ledger"]["shortfall"], marketplace_id
    )
    assert balance_cents is not None and balance_cents <= 0, (marketplace_id, balance_cents)
    return -balance_cents
