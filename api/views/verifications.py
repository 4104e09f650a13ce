"""Bank-account verifications (micro-deposits) and ACH debits of verified bank accounts."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import POOL
from api.auth import marketplace_id
from api.parsing import page, parse
from api.request_models import TransferCreate, VerificationConfirm, VerificationCreate
from api.views.common import after_commit, many, one, transaction
from api.views.transfers import mover
from ledger import ach_debits, instruments, verifications, wire

PLURAL = "bank_account_verifications"

debit_bank_account = mover(TransferCreate, "debits", ach_debits.debit_bank_account)


async def create_verification(request: web.Request) -> web.Response:
    """Start verifying a bank account: two micro-deposits (1 cent each in test mode)."""
    fields = await parse(request, VerificationCreate, PLURAL)
    async with transaction(request) as connection:
        outcome = await verifications.create(
            connection, marketplace_id(request), request.match_info["id"], fields.meta
        )
    await after_commit(request, outcome.jobs)
    return one(PLURAL, wire.bank_account_verification(outcome.row), 201)


async def list_verifications(request: web.Request) -> web.Response:
    mp, bank_account_id = marketplace_id(request), request.match_info["id"]
    pool = request.app[POOL]
    await instruments.get_bank_account(pool, mp, bank_account_id)  # 404 if not ours.
    limit, offset = page(request)
    rows, total = await verifications.list_page(pool, mp, bank_account_id, limit, offset)
    items = [wire.bank_account_verification(row) for row in rows]
    return many(request, PLURAL, items, total)


async def get_verification(request: web.Request) -> web.Response:
    row = await verifications.get(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one(PLURAL, wire.bank_account_verification(row))


async def confirm_verification(request: web.Request) -> web.Response:
    """Confirm the two micro-deposits. A wrong pair still uses up an attempt (409)."""
    fields = await parse(request, VerificationConfirm, PLURAL)
    async with transaction(request) as connection:
        outcome = await verifications.confirm(
            connection,
            marketplace_id(request),
            request.match_info["id"],
            (fields.amount_1, fields.amount_2),
        )
    await after_commit(request, outcome.jobs)
    if outcome.error is not None:
        raise outcome.error
    return one(PLURAL, wire.bank_account_verification(outcome.row))
