"""Orders and the money that moves through them: card debits in, ACH credits out."""

from __future__ import annotations

from aiohttp import web

from api.auth import marketplace_id
from api.bodies import page, parse
from api.keys import POOL
from api.models import TransferCreate
from api.views.common import after_commit, many, one, total_of, transaction
from ledger import orders, transfers, wire
from ledger.sql import QUERIES

# Statuses a list shows: failed transfers are hidden unless asked for (Balanced).
VISIBLE_STATUSES = ("pending", "succeeded")
LISTABLE_STATUSES = frozenset({"pending", "succeeded", "failed"})


def _request(fields: TransferCreate) -> transfers.TransferRequest:
    return transfers.TransferRequest(
        amount_cents=fields.amount,
        order_id=fields.order,
        description=fields.description,
        meta=fields.meta,
        appears_on_statement_as=fields.appears_on_statement_as,
    )


async def _respond(request: web.Request, result: transfers.TransferResult) -> web.Response:
    """Enqueue what committed; a transfer persisted as failed answers with its error."""
    await after_commit(request, result.jobs)
    if result.error is not None:
        raise result.error
    return one(wire.TRANSACTION_TYPES[result.row["kind"]], wire.transaction(result.row), 201)


async def debit_card(request: web.Request) -> web.Response:
    fields = await parse(request, TransferCreate, "debits")
    async with transaction(request) as connection:
        result = await transfers.debit_card(
            connection, marketplace_id(request), request.match_info["card_id"], _request(fields)
        )
    return await _respond(request, result)


async def credit_bank_account(request: web.Request) -> web.Response:
    fields = await parse(request, TransferCreate, "credits")
    async with transaction(request) as connection:
        result = await transfers.credit_bank_account(
            connection,
            marketplace_id(request),
            request.match_info["bank_account_id"],
            _request(fields),
        )
    return await _respond(request, result)


async def get_credit(request: web.Request) -> web.Response:
    row = await transfers.get(
        request.app[POOL], marketplace_id(request), "credit", request.match_info["credit_id"]
    )
    return one("credits", wire.transaction(row))


async def get_debit(request: web.Request) -> web.Response:
    row = await transfers.get(
        request.app[POOL], marketplace_id(request), "debit", request.match_info["debit_id"]
    )
    return one("debits", wire.transaction(row))


async def get_order(request: web.Request) -> web.Response:
    row = await orders.get(
        request.app[POOL], marketplace_id(request), request.match_info["order_id"]
    )
    return one("orders", wire.order(row))


def _statuses(request: web.Request) -> list[str]:
    wanted = request.query.get("status")
    if wanted is None:
        return list(VISIBLE_STATUSES)
    if wanted not in LISTABLE_STATUSES:
        from ledger.errors import RequestInvalid

        raise RequestInvalid("Invalid field [status]: must be pending, succeeded or failed.")
    return [wanted]


async def _list_for_order(request: web.Request, kind: str) -> web.Response:
    mp, order_id = marketplace_id(request), request.match_info["order_id"]
    limit, offset = page(request)
    pool = request.app[POOL]
    await orders.get(pool, mp, order_id)
    rows = await pool.fetch(
        QUERIES["transactions"]["list_for_order"],
        mp,
        order_id,
        kind,
        _statuses(request),
        limit,
        offset,
    )
    items = [wire.transaction(dict(row)) for row in rows]
    return many(request, wire.TRANSACTION_TYPES[kind], items, total_of(rows))


async def list_order_debits(request: web.Request) -> web.Response:
    return await _list_for_order(request, "debit")


async def list_order_credits(request: web.Request) -> web.Response:
    return await _list_for_order(request, "credit")
