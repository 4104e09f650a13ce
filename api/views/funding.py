"""Transfers whose path names no instrument: a customer's, at its default funding
instruments, and root ones, at the `source` or `destination` of their body."""

from __future__ import annotations

from aiohttp import web

from api.appkeys import SETTINGS
from api.auth import marketplace_id
from api.parsing import parse
from api.request_models import (
    BankAccountCreate,
    CardCreate,
    CreditRootCreate,
    DebitRootCreate,
    TransferCreate,
)
from api.views.common import transaction
from api.views.transfers import mover, respond, transfer_request
from ledger import funding

debit_customer = mover(TransferCreate, "debits", funding.debit_customer)
credit_customer = mover(TransferCreate, "credits", funding.credit_customer)


def _instrument(value: str | CardCreate | BankAccountCreate) -> funding.Instrument:
    if isinstance(value, str):
        return funding.Instrument(id=value)
    kind = "card" if isinstance(value, CardCreate) else "bank_account"
    return funding.Instrument(kind=kind, fields=value.model_dump())


async def debit_root(request: web.Request) -> web.Response:
    """A debit of the body's `source`: a card (or bank account) by id or href, or a card's
    details to tokenize on the spot."""
    fields = await parse(request, DebitRootCreate, "debits")
    async with transaction(request) as connection:
        result = await funding.debit_root(
            connection,
            marketplace_id(request),
            _instrument(fields.source),
            transfer_request(fields),
            fingerprint_key=request.app[SETTINGS].fingerprint_key.encode(),
        )
    return await respond(request, result)


async def credit_root(request: web.Request) -> web.Response:
    """A credit to the body's `destination`: a bank account, debit card or payable account
    by id or href, or a bank account's or card's details to tokenize on the spot."""
    fields = await parse(request, CreditRootCreate, "credits")
    async with transaction(request) as connection:
        result = await funding.credit_root(
            connection,
            marketplace_id(request),
            _instrument(fields.destination),
            transfer_request(fields),
            fingerprint_key=request.app[SETTINGS].fingerprint_key.encode(),
        )
    return await respond(request, result)
