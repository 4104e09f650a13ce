"""Customers (`/dashboard/customers`): the list (search by name, business name, email or
id), and a customer's page — its bank accounts and cards, its payable account's balance
and settlements, and "settle from a bank account": the ledger function behind
`POST /accounts/{id}/settlements` (ledger.settlements.settle), so a refusal shows the
API's own error text."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dashboard import actions, context, paging
from dashboard.formatting import money
from dashboard.forms import read_form, text_field
from dashboard.templating import render
from ledger import accounts, settlements, transfers
from ledger import dashboard as ledger_dashboard
from ledger.records import Transfer, TransferKind
from ledger.status import Status
from ledger.transfers import TransferRequest

# A customer's page lists at most this many settlements of its account, newest first.
SETTLEMENTS_SHOWN = 50


async def customers_list(request: web.Request) -> web.Response:
    values = await paging.searched(request, ledger_dashboard.customers_found)
    return await render(request, "customers/index.html", values)


async def _payable(request: web.Request, customer_id: str) -> dict[str, Any] | None:
    """The customer's payable account with its balance, if it has one."""
    found, _ = await accounts.list_page(
        context.pool(request), context.marketplace_id(request), customer_id, 1, 0
    )
    return found[0] if found else None


async def customer_page(
    request: web.Request,
    *,
    error: str | None = None,
    done: str | None = None,
    status: int = 200,
) -> web.Response:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    customer = await ledger_dashboard.customer(pool, marketplace_id, request.match_info["id"])
    account = await _payable(request, customer.id)
    settled: list[Transfer] = []
    if account is not None:
        query = transfers.ListQuery(
            kind=TransferKind.SETTLEMENT,
            party_id=account["id"],
            statuses=(Status.PENDING, Status.SUCCEEDED, Status.FAILED),
            sort="created_at,desc",
        )
        settled, _ = await transfers.list_page(pool, marketplace_id, query, SETTLEMENTS_SHOWN, 0)
    return await render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "bank_accounts": await ledger_dashboard.customer_bank_accounts(
                pool, marketplace_id, customer.id
            ),
            "cards": await ledger_dashboard.customer_cards(pool, marketplace_id, customer.id),
            "account": account,
            "settlements": settled,
            "error": error,
            "done": done,
        },
        status=status,
    )


async def settle(request: web.Request) -> web.Response:
    """Settle the customer's payable account's whole balance against a bank account."""
    form = await read_form(request)
    bank_account_id = text_field(form, "bank_account_id")
    # The account is the page's customer's, found here rather than taken from the form.
    account = await _payable(request, request.match_info["id"])
    error: str | None = None
    done: str | None = None
    settled_cents = 0
    if account is None:
        error = "This customer has no payable account to settle."
    elif bank_account_id is None:
        error = "Choose the bank account to settle with."
    elif form.get("confirm") != "yes":
        error = "Tick the box to confirm the amount."
    else:
        marketplace_id, account_id = context.marketplace_id(request), account["id"]
        outcome = await actions.transfer(
            request,
            lambda connection: settlements.settle(
                connection, marketplace_id, account_id, bank_account_id, TransferRequest(None)
            ),
        )
        error = outcome.error
        if outcome.result is not None and error is None:
            row = outcome.result.row
            done = f"Settlement {row.id} of {money(row.amount_cents)} is {row.status}."
            settled_cents = row.amount_cents
    if request.headers.get("HX-Request") == "true" and account is not None:
        pool, marketplace_id = context.pool(request), context.marketplace_id(request)
        customer = await ledger_dashboard.customer(pool, marketplace_id, request.match_info["id"])
        banks = await ledger_dashboard.customer_bank_accounts(pool, marketplace_id, customer.id)
        return await render(
            request,
            "customers/settle_form.html",
            {
                "customer": customer,
                "bank_accounts": banks,
                "amount_cents": settled_cents or abs(account["balance_cents"]),
                "paying_out": account["balance_cents"] > 0,
                "error": error,
                "done": done,
            },
        )
    return await customer_page(request, error=error, done=done, status=422 if error else 200)


ROUTES = [
    web.get("/customers", customers_list, name="customers.index"),
    web.get("/customers/{id}", customer_page, name="customers.detail"),
    web.post("/customers/{id}/settlements", settle, name="customers.settle"),
]
