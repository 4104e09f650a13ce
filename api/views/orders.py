"""Orders: created under a customer (the merchant), read and annotated by id. Lists of
orders are served by `api.views.customers.lister`, with every other list."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import POOL
from api.auth import marketplace_id
from api.parsing import page, parse
from api.request_models import DetailsUpdate, OrderCreate
from api.views.common import many, one, transaction
from ledger import instruments, orders, wire


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


async def list_buyers(request: web.Request) -> web.Response:
    """The customers whose debits paid into the order (Balanced's `orders.buyers`)."""
    mp, order_id = marketplace_id(request), request.match_info["id"]
    await orders.get(request.app[POOL], mp, order_id)
    limit, offset = page(request)
    rows, total = await instruments.list_order_buyers(
        request.app[POOL], mp, order_id, limit, offset
    )
    return many(request, "customers", [wire.customer(row) for row in rows], total)
