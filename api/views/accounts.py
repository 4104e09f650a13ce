"""Payable accounts, and any resource by id."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import POOL
from api.auth import marketplace_id
from api.views.common import one
from ledger import accounts, resources, wire


async def get_account(request: web.Request) -> web.Response:
    row = await accounts.get(request.app[POOL], marketplace_id(request), request.match_info["id"])
    return one("accounts", wire.account(row))


async def get_resource(request: web.Request) -> web.Response:
    plural, item = await resources.find(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one(plural, item)
