"""Orders, payable accounts, and any resource by id."""

from __future__ import annotations

from aiohttp import web

from api.auth import marketplace_id
from api.bodies import page, parse
from api.keys import POOL
from api.models import DetailsUpdate
from api.views.common import many, one, transaction
from ledger import accounts, instruments, orders, resources, wire


async def get_order(request: web.Request) -> web.Response:
    row = await orders.get(request.app[POOL], marketplace_id(request), request.match_info["id"])
    return one("orders", wire.order(row))


async def update_order(request: web.Request) -> web.Response:
    fields = await parse(request, DetailsUpdate, "orders")
    async with transaction(request) as connection:
        row = await orders.update_details(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            fields.description,
            fields.meta,
        )
    return one("orders", wire.order(row))


async def list_orders(request: web.Request) -> web.Response:
    """All orders, or (under `/customers/{id}/orders`) those of one merchant."""
    mp, merchant_id = marketplace_id(request), request.match_info.get("id")
    if merchant_id is not None:
        await instruments.get_customer(request.app[POOL], mp, merchant_id)
    limit, offset = page(request)
    rows, total = await orders.list_page(request.app[POOL], mp, merchant_id, limit, offset)
    return many(request, "orders", [wire.order(row) for row in rows], total)


async def get_account(request: web.Request) -> web.Response:
    row = await accounts.get(request.app[POOL], marketplace_id(request), request.match_info["id"])
    return one("accounts", wire.account(row))


async def list_accounts(request: web.Request) -> web.Response:
    """All payable accounts, or (under `/customers/{id}/accounts`) a customer's one."""
    mp, customer_id = marketplace_id(request), request.match_info.get("id")
    if customer_id is not None:
        await instruments.get_customer(request.app[POOL], mp, customer_id)
    limit, offset = page(request)
    rows, total = await accounts.list_page(request.app[POOL], mp, customer_id, limit, offset)
    return many(request, "accounts", [wire.account(row) for row in rows], total)


async def get_resource(request: web.Request) -> web.Response:
    plural, item = await resources.find(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one(plural, item)
