"""Orders, payable accounts, and any resource by id."""

from __future__ import annotations

from aiohttp import web

from api.auth import marketplace_id
from api.bodies import parse
from api.keys import POOL
from api.models import DetailsUpdate
from api.views.common import one, transaction
from ledger import accounts, orders, resources, wire


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


async def get_account(request: web.Request) -> web.Response:
    row = await accounts.get(request.app[POOL], marketplace_id(request), request.match_info["id"])
    return one("accounts", wire.account(row))


async def get_resource(request: web.Request) -> web.Response:
    plural, item = await resources.find(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one(plural, item)
