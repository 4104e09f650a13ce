"""Disputes of card debits: read-only."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import POOL
from api.auth import marketplace_id
from api.parsing import page
from api.views.common import many, one
from ledger import disputes, instruments, wire


async def _page(request: web.Request, party_id: str | None) -> web.Response:
    limit, offset = page(request)
    rows, total = await disputes.list_page(
        request.app[POOL], marketplace_id(request), party_id, limit, offset
    )
    return many(request, "disputes", [wire.dispute(row) for row in rows], total)


async def list_disputes(request: web.Request) -> web.Response:
    """Every dispute of the marketplace."""
    return await _page(request, None)


async def list_card_disputes(request: web.Request) -> web.Response:
    """The disputes of one card's debits."""
    card_id = request.match_info["id"]
    await instruments.get_card(request.app[POOL], marketplace_id(request), card_id)  # Or 404.
    return await _page(request, card_id)


async def list_customer_disputes(request: web.Request) -> web.Response:
    """The disputes of one customer's debits."""
    customer_id = request.match_info["id"]
    await instruments.get_customer(request.app[POOL], marketplace_id(request), customer_id)
    return await _page(request, customer_id)


async def get_dispute(request: web.Request) -> web.Response:
    row = await disputes.get(request.app[POOL], marketplace_id(request), request.match_info["id"])
    return one("disputes", wire.dispute(row))


async def get_debit_dispute(request: web.Request) -> web.Response:
    """The dispute of a debit; 404 when no one disputed it."""
    row = await disputes.of_debit(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("disputes", wire.dispute(row))
