"""Customers, their bank accounts and cards, and their orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from api.auth import marketplace_id
from api.bodies import page, parse
from api.errors import Handler
from api.keys import POOL
from api.models import BankAccountCreate, BankAccountUpdate, CardCreate, CustomerCreate, OrderCreate
from api.views.common import after_commit, many, one, total_of, transaction
from ledger import instruments, orders, wire
from ledger.sql import QUERIES


async def create_customer(request: web.Request) -> web.Response:
    fields = await parse(request, CustomerCreate, "customers")
    async with transaction(request) as connection:
        row, jobs = await instruments.create_customer(
            connection, marketplace_id(request), fields.model_dump()
        )
    await after_commit(request, jobs)
    return one("customers", wire.customer(row), status=201)


async def get_customer(request: web.Request) -> web.Response:
    row = await instruments.get_customer(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("customers", wire.customer(row))


async def create_bank_account(request: web.Request) -> web.Response:
    fields = await parse(request, BankAccountCreate, "bank_accounts")
    async with transaction(request) as connection:
        row, jobs = await instruments.create_bank_account(
            connection, marketplace_id(request), fields.model_dump()
        )
    await after_commit(request, jobs)
    return one("bank_accounts", wire.bank_account(row), status=201)


async def get_bank_account(request: web.Request) -> web.Response:
    row = await instruments.get_bank_account(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("bank_accounts", wire.bank_account(row))


async def update_bank_account(request: web.Request) -> web.Response:
    fields = await parse(request, BankAccountUpdate, "bank_accounts")
    async with transaction(request) as connection:
        row, jobs = await instruments.update_bank_account(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            fields.links.customer or fields.customer,
            fields.meta,
        )
    await after_commit(request, jobs)
    return one("bank_accounts", wire.bank_account(row))


async def create_card(request: web.Request) -> web.Response:
    fields = await parse(request, CardCreate, "cards")
    async with transaction(request) as connection:
        row, jobs = await instruments.create_card(
            connection, marketplace_id(request), fields.model_dump()
        )
    await after_commit(request, jobs)
    return one("cards", wire.card(row), status=201)


async def get_card(request: web.Request) -> web.Response:
    row = await instruments.get_card(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("cards", wire.card(row))


async def create_order(request: web.Request) -> web.Response:
    fields = await parse(request, OrderCreate, "orders")
    async with transaction(request) as connection:
        row = await orders.create(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            fields.model_dump(),
        )
    return one("orders", wire.order(row), status=201)


def lister(plural: str) -> Handler:
    """`GET /<plural>` of customers, bank accounts or cards, or (under
    `/customers/{id}/<plural>`) those of one customer."""
    query, render = LISTS[plural]

    async def list_instruments(request: web.Request) -> web.Response:
        mp, customer_id = marketplace_id(request), request.match_info.get("id")
        pool = request.app[POOL]
        if customer_id is not None:
            await instruments.get_customer(pool, mp, customer_id)
        limit, offset = page(request)
        rows = await pool.fetch(QUERIES["customers"][query], mp, customer_id, limit, offset)
        return many(request, plural, [render(dict(row)) for row in rows], total_of(rows))

    return list_instruments


LISTS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "customers": ("list_customers", wire.customer),
    "bank_accounts": ("list_bank_accounts", wire.bank_account),
    "cards": ("list_cards", wire.card),
}
