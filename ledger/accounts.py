"""Payable accounts: one per customer, the batch payout path (order → account →
settlement). An account is a ledger account with the same id; it may go negative."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger import ids, postings
from ledger.errors import NotFound
from ledger.sql import QUERIES

Q = QUERIES["accounts"]


async def open_payable(
    connection: asyncpg.Connection, marketplace_id: str, customer_id: str
) -> str:
    account_id = ids.new_id("account")
    await connection.execute(Q["insert"], account_id, marketplace_id, customer_id)
    await postings.open_account(connection, marketplace_id, account_id, "payable")
    return account_id


async def get(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, account_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get"], marketplace_id, account_id)
    if row is None:
        raise NotFound(f"Account {account_id} could not be found.")
    return dict(row)


async def list_page(
    pool: asyncpg.Pool, marketplace_id: str, customer_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(Q["list"], marketplace_id, customer_id, limit, offset)
    total = int(rows[0]["total"]) if rows else 0
    return [dict(row) for row in rows], total
