"""Orders: an escrow per merchant. An order's escrow is a ledger account with its id."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger import ids, instruments, postings
from ledger.errors import NotFound
from ledger.sql import QUERIES

Q = QUERIES["orders"]


async def create(
    connection: asyncpg.Connection, marketplace_id: str, merchant_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    await instruments.get_customer(connection, marketplace_id, merchant_id)
    order_id = ids.new_id("order")
    await connection.execute(
        Q["insert_order"],
        order_id,
        marketplace_id,
        merchant_id,
        fields.get("description"),
        fields.get("delivery_address") or {},
        fields.get("meta") or {},
    )
    await postings.open_account(connection, marketplace_id, order_id, "order_escrow")
    return await get(connection, marketplace_id, order_id)


async def get(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, order_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get"], marketplace_id, order_id)
    if row is None:
        raise NotFound(f"Order {order_id} could not be found.")
    return dict(row)


async def list_page(
    pool: asyncpg.Pool, marketplace_id: str, merchant_id: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(Q["list"], marketplace_id, merchant_id, limit, offset)
    total = int(rows[0]["total"]) if rows else 0
    return [dict(row) for row in rows], total


async def update_details(
    connection: asyncpg.Connection,
    marketplace_id: str,
    order_id: str,
    description: str | None,
    meta: dict[str, str] | None,
) -> dict[str, Any]:
    if (
        await connection.fetchval(Q["update_details"], marketplace_id, order_id, description, meta)
        is None
    ):
        raise NotFound(f"Order {order_id} could not be found.")
    return await get(connection, marketplace_id, order_id)


async def get_row(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, order_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get_row"], marketplace_id, order_id)
    if row is None:
        raise NotFound(f"Order {order_id} could not be found.")
    return dict(row)
