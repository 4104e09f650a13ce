"""Card holds: authorize, capture, void."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import POOL
from api.auth import marketplace_id
from api.parsing import page, parse
from api.request_models import CaptureCreate, HoldUpdate, TransferCreate
from api.views.common import after_commit, many, one, transaction
from api.views.transfers import respond
from ledger import holds, instruments, transfers, wire
from ledger.outbox import Job


async def create_hold(request: web.Request) -> web.Response:
    fields = await parse(request, TransferCreate, "card_holds")
    details = transfers.TransferRequest(
        fields.amount, fields.order, fields.description, fields.meta
    )
    async with transaction(request) as connection:
        row, jobs, error = await holds.create(
            connection, marketplace_id(request), request.match_info["id"], details
        )
    await after_commit(request, jobs)
    if error is not None:
        raise error
    return one("card_holds", wire.card_hold(row), status=201)


async def get_hold(request: web.Request) -> web.Response:
    row = await holds.get(request.app[POOL], marketplace_id(request), request.match_info["id"])
    return one("card_holds", wire.card_hold(row))


async def list_holds(request: web.Request) -> web.Response:
    """All holds, or (under `/cards/{id}/card_holds`) one card's; voided ones are hidden
    unless `is_void=true` is asked for (Balanced)."""
    mp, card_id = marketplace_id(request), request.match_info.get("id")
    if card_id is not None:
        await instruments.get_card(request.app[POOL], mp, card_id)
    limit, offset = page(request)
    include_voided = request.query.get("is_void") == "true"
    rows, total = await holds.list_page(
        request.app[POOL], mp, card_id, include_voided, limit, offset
    )
    return many(request, "card_holds", [wire.card_hold(row) for row in rows], total)


async def list_customer_holds(request: web.Request) -> web.Response:
    """The holds on a customer's cards, voided ones hidden unless `is_void=true`."""
    mp, customer_id = marketplace_id(request), request.match_info["id"]
    await instruments.get_customer(request.app[POOL], mp, customer_id)
    limit, offset = page(request)
    include_voided = request.query.get("is_void") == "true"
    rows, total = await holds.list_page_for_customer(
        request.app[POOL], mp, customer_id, include_voided, limit, offset
    )
    return many(request, "card_holds", [wire.card_hold(row) for row in rows], total)


async def capture_hold(request: web.Request) -> web.Response:
    fields = await parse(request, CaptureCreate, "debits")
    details = transfers.TransferRequest(
        fields.amount, fields.order, fields.description, fields.meta
    )
    async with transaction(request) as connection:
        result = await holds.capture(
            connection, marketplace_id(request), request.match_info["id"], details
        )
    return await respond(request, result)


async def void_hold(request: web.Request) -> web.Response:
    """`DELETE /card_holds/:id` voids the hold and answers 200 with it (Balanced)."""
    async with transaction(request) as connection:
        row, jobs = await holds.void(connection, marketplace_id(request), request.match_info["id"])
    await after_commit(request, jobs)
    return one("card_holds", wire.card_hold(row))


async def update_hold(request: web.Request) -> web.Response:
    fields = await parse(request, HoldUpdate, "card_holds")
    mp, hold_id = marketplace_id(request), request.match_info["id"]
    jobs: list[Job] = []
    async with transaction(request) as connection:
        row = await holds.update_details(connection, mp, hold_id, fields.description, fields.meta)
        if fields.is_void:
            row, jobs = await holds.void(connection, mp, hold_id)
    await after_commit(request, jobs)
    return one("card_holds", wire.card_hold(row))
