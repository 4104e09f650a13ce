"""Customers, their bank accounts and cards, and every list of customer-owned resources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from api.appkeys import POOL, SETTINGS
from api.auth import marketplace_id
from api.errors import Handler
from api.parsing import page, parse
from api.request_models import BankAccountCreate, CardCreate, CustomerCreate
from api.views.common import after_commit, many, one, transaction
from ledger import accounts, instruments, orders, wire
from ledger import customers as ledger_customers


async def create_customer(request: web.Request) -> web.Response:
    fields = await parse(request, CustomerCreate, "customers")
    defaults = ledger_customers.Defaults(
        source_id=fields.links.source or fields.source,
        destination_id=fields.links.destination or fields.destination,
    )
    async with transaction(request) as connection:
        row, jobs = await ledger_customers.create_customer(
            connection,
            marketplace_id(request),
            fields.model_dump(exclude={"links", "source", "destination"}),
            defaults,
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
            connection,
            marketplace_id(request),
            fields.model_dump(),
            fingerprint_key=request.app[SETTINGS].fingerprint_key.encode(),
        )
    await after_commit(request, jobs)
    return one("bank_accounts", wire.bank_account(row), status=201)


async def get_bank_account(request: web.Request) -> web.Response:
    row = await instruments.get_bank_account(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("bank_accounts", wire.bank_account(row))


async def create_card(request: web.Request) -> web.Response:
    fields = await parse(request, CardCreate, "cards")
    async with transaction(request) as connection:
        row, jobs = await instruments.create_card(
            connection,
            marketplace_id(request),
            fields.model_dump(),
            fingerprint_key=request.app[SETTINGS].fingerprint_key.encode(),
        )
    await after_commit(request, jobs)
    return one("cards", wire.card(row), status=201)


async def get_card(request: web.Request) -> web.Response:
    row = await instruments.get_card(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("cards", wire.card(row))


def lister(plural: str) -> Handler:
    """`GET /<plural>` of customers, bank accounts, cards, orders or payable accounts, or
    (under `/customers/{id}/<plural>`) those of one customer."""
    fetch_page, render = LISTS[plural]

    async def list_for_customer(request: web.Request) -> web.Response:
        mp, customer_id = marketplace_id(request), request.match_info.get("id")
        pool = request.app[POOL]
        if customer_id is not None:
            await instruments.get_customer(pool, mp, customer_id)
        limit, offset = page(request)
        rows, total = await fetch_page(pool, mp, customer_id, limit, offset)
        return many(request, plural, [render(row) for row in rows], total)

    return list_for_customer


Page = tuple[list[dict[str, Any]], int]
FetchPage = Callable[[asyncpg.Pool, str, str | None, int, int], Awaitable[Page]]


LISTS: dict[str, tuple[FetchPage, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "customers": (instruments.list_customers, wire.customer),
    "bank_accounts": (instruments.list_bank_accounts, wire.bank_account),
    "cards": (instruments.list_cards, wire.card),
    "orders": (orders.list_page, wire.order),
    "accounts": (accounts.list_page, wire.account),
}
