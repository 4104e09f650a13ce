"""Money movements: debits in, credits out, refunds, reversals and settlements, and the
reading, listing and updating of them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from api.appkeys import CREDIT_BATCHER, IDEMPOTENCY, POOL
from api.auth import marketplace_id
from api.errors import Handler
from api.parsing import list_filters, page, parse
from api.request_models import DetailsUpdate, ReturnCreate, SettlementCreate, TransferCreate
from api.views.common import after_commit, many, one, transaction
from ledger import credits, debits, resources, settlements, transfers, wire
from ledger.errors import BalancedError
from ledger.records import TransferKind


def _request(fields: TransferCreate | ReturnCreate) -> transfers.TransferRequest:
    return transfers.TransferRequest(
        amount_cents=fields.amount,
        order_id=getattr(fields, "order", None),
        description=fields.description,
        meta=fields.meta,
        appears_on_statement_as=getattr(fields, "appears_on_statement_as", None),
    )


async def respond(request: web.Request, result: transfers.TransferResult) -> web.Response:
    """Enqueue what committed; a transfer persisted as failed answers with its error."""
    await after_commit(request, result.jobs)
    if result.error is not None:
        raise result.error
    return one(wire.TRANSACTION_TYPES[result.row.kind], wire.transaction(result.row), 201)


Move = Callable[
    [asyncpg.Connection, str, str, transfers.TransferRequest], Awaitable[transfers.TransferResult]
]


def mover(model: type[TransferCreate | ReturnCreate], plural: str, move: Move) -> Handler:
    """`POST /<parent>/{id}/<plural>`: validate the body as `model`, `move` the money from
    or to the resource `{id}` in one transaction, answer 201 (or the failed transfer)."""

    async def create(request: web.Request) -> web.Response:
        return await _move_alone(request, await parse(request, model, plural), move)

    return create


async def _move_alone(
    request: web.Request, fields: TransferCreate | ReturnCreate, move: Move
) -> web.Response:
    async with transaction(request) as connection:
        result = await move(
            connection, marketplace_id(request), request.match_info["id"], _request(fields)
        )
    return await respond(request, result)


async def credit_bank_account(request: web.Request) -> web.Response:
    """`POST /bank_accounts/{id}/credits`, the hot path: made together with the credits
    other requests ask for at the same time (api.credit_batches), except under an
    Idempotency-Key or when the batch hands it back."""
    fields = await parse(request, TransferCreate, "credits")
    if request.get(IDEMPOTENCY) is None:
        wanted = credits.BankAccountCredit(
            marketplace_id(request), request.match_info["id"], _request(fields)
        )
        answer = await request.app[CREDIT_BATCHER].credit(wanted)
        if isinstance(answer, BalancedError):
            raise answer
        if answer is not None:  # Its jobs were enqueued with its batch's.
            return one("credits", wire.transaction(answer.row), 201)
    return await _move_alone(request, fields, credits.credit_bank_account)


debit_card = mover(TransferCreate, "debits", debits.debit_card)
credit_account = mover(TransferCreate, "credits", credits.credit_account)
credit_card = mover(TransferCreate, "credits", credits.credit_card)
refund_debit = mover(ReturnCreate, "refunds", debits.refund)
reverse_credit = mover(ReturnCreate, "reversals", credits.reverse)


async def settle_account(request: web.Request) -> web.Response:
    fields = await parse(request, SettlementCreate, "settlements")
    details = transfers.TransferRequest(
        None, None, fields.description, fields.meta, fields.appears_on_statement_as
    )
    async with transaction(request) as connection:
        result = await settlements.settle(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            fields.funding_instrument,
            details,
        )
    return await respond(request, result)


def getter(kind: TransferKind) -> Handler:
    """`GET /<plural>/{id}` for one kind of transfer."""

    async def get(request: web.Request) -> web.Response:
        row = await transfers.get(
            request.app[POOL], marketplace_id(request), kind, request.match_info["id"]
        )
        return one(wire.TRANSACTION_TYPES[kind], wire.transaction(row))

    return get


def updater(kind: TransferKind) -> Handler:
    """`PUT /<plural>/{id}`: description and meta."""

    async def update(request: web.Request) -> web.Response:
        plural = wire.TRANSACTION_TYPES[kind]
        fields = await parse(request, DetailsUpdate, plural)
        row = await transfers.update_details(
            request.app[POOL],
            marketplace_id(request),
            kind,
            request.match_info["id"],
            fields.description,
            fields.meta,
        )
        return one(plural, wire.transaction(row))

    return update


def lister(kind: TransferKind, scope: str | None = None) -> Handler:
    """`GET` of a list of transfers of `kind`, at the root or under the resource whose id
    is the route's `{id}`, narrowed by `scope` (a field of `transfers.ListQuery`)."""

    async def list_transfers(request: web.Request) -> web.Response:
        mp = marketplace_id(request)
        # Keyword arguments of transfers.ListQuery, like list_filters' own.
        scoped: dict[str, Any] = {}
        if scope is not None:
            parent_id = request.match_info["id"]
            await resources.find(request.app[POOL], mp, parent_id)  # 404 if not ours.
            scoped = {scope: parent_id}
        query = transfers.ListQuery(kind=kind, **scoped, **list_filters(request))
        limit, offset = page(request)
        rows, total = await transfers.list_page(request.app[POOL], mp, query, limit, offset)
        return many(
            request, wire.TRANSACTION_TYPES[kind], [wire.transaction(r) for r in rows], total
        )

    return list_transfers


# For the views of transfers whose instrument is not in the path (api/views/funding.py).
transfer_request = _request
