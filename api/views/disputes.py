"""Disputes of card debits: read-only."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import POOL
from api.auth import marketplace_id
from api.parsing import page
from api.views.common import many, one
from ledger import disputes, instruments, wire


async def list_disputes(request: web.Request) -> web.Response:
    """Every dispute of the marketplace, or (under `/cards/{id}/disputes`) of one card."""
    mp, card_id = marketplace_id(request), request.match_info.get("id")
    pool = request.app[POOL]
    if card_id is not None:
        await instruments.get_card(pool, mp, card_id)  # 404 if it is not ours.
    limit, offset = page(request)
    rows, total = await disputes.list_page(pool, mp, card_id, limit, offset)
    return many(request, "disputes", [wire.dispute(row) for row in rows], total)


async def get_dispute(request: web.Request) -> web.Response:
    row = await disputes.get(request.app[POOL], marketplace_id(request), request.match_info["id"])
    return one("disputes", wire.dispute(row))


async def get_debit_dispute(request: web.Request) -> web.Response:
    """The dispute of a debit; 404 when no one disputed it."""
    row = await disputes.of_debit(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("disputes", wire.dispute(row))
