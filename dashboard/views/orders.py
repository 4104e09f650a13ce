"""Orders (`/dashboard/orders`): the list (search by id or description) with what each
holds in escrow, and an order's page — its merchant, its escrow (live), its timeline of
debits, refunds, credits and reversals (statuses live), and the actions Balanced's
dashboard had: pay out to a bank account of the merchant or of the marketplace owner (the
only two payees Balanced allows an order), refund a debit, reverse a credit.
Each runs the very ledger function the API's view runs (api/views/transfers.py:
credits.credit_bank_account, debits.refund, credits.reverse), so a refusal shows the
API's own error text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web

from dashboard import actions, charts, context, paging
from dashboard.formatting import money as _dollars
from dashboard.forms import dollars_cents, read_form, text_field
from dashboard.templating import render
from dashboard.urls import url
from ledger import credits, debits, marketplaces, orders
from ledger import dashboard as ledger_dashboard
from ledger.transfers import TransferRequest, TransferResult

Move = Callable[[asyncpg.Connection, str, str, TransferRequest], Awaitable[TransferResult]]


@dataclass(frozen=True)
class Destination:
    """A bank account a payout of the order may go to, named by whose it is."""

    id: str
    role: str  # "Merchant" or "Marketplace owner"
    label: str  # "Merchant — Ada Lovelace ••0002", "Marketplace owner — Shop ••0002"


async def payout_destinations(
    request: web.Request, merchant: ledger_dashboard.Customer
) -> list[Destination]:
    """The merchant's bank accounts, then the marketplace owner's: Balanced lets an order
    credit only these two customers (ledger.credits._check_payee)."""
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    owner_id = (await marketplaces.get(pool, marketplace_id))["owner_customer_id"]
    payees = [("Merchant", merchant)]
    if owner_id is not None and owner_id != merchant.id:
        payees.append(
            ("Marketplace owner", await ledger_dashboard.customer(pool, marketplace_id, owner_id))
        )
    destinations: list[Destination] = []
    for role, customer in payees:
        name = customer.name or customer.business_name
        for account in await ledger_dashboard.customer_bank_accounts(
            pool, marketplace_id, customer.id
        ):
            label = f"{role} — {name} ••{account.last4}" if name else f"{role} — ••{account.last4}"
            destinations.append(Destination(account.id, role, label))
    return destinations


async def _render(
    request: web.Request, template: str, values: dict[str, Any], status: int = 200
) -> web.Response:
    """An order template, whose action forms each get a fresh one-time nonce."""
    return await render(
        request, template, values | {"form_nonce": actions.new_nonce}, status=status
    )


async def orders_list(request: web.Request) -> web.Response:
    values = await paging.searched(request, ledger_dashboard.orders_found)
    return await render(request, "orders/index.html", values)


async def _order(request: web.Request) -> dict[str, Any]:
    return await orders.get(
        context.pool(request), context.marketplace_id(request), request.match_info["id"]
    )


async def order_page(
    request: web.Request,
    *,
    forms: dict[str, dict[str, str | None]] | None = None,
    status: int = 200,
) -> web.Response:
    """The order; `forms` holds the outcome (`error` or `done`) of the action just run,
    by the id of its form, for a request without htmx."""
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    order = await _order(request)
    merchant = await ledger_dashboard.customer(pool, marketplace_id, order["merchant_customer_id"])
    destinations = await payout_destinations(request, merchant)
    timeline = await ledger_dashboard.order_timeline(pool, marketplace_id, order["id"])
    # The payout form confirms an amount: the whole escrow, or what the operator asked.
    payout_text = request.query.get("payout", "").strip()
    payout_cents = dollars_cents(payout_text) if payout_text else None
    if payout_cents is None:
        payout_cents = order["amount_escrowed_cents"]
    picked = request.query.get("bank_account", "")
    # The merchant's newest account unless the operator picked another.
    merchants = [d for d in destinations if d.role == "Merchant"]
    payout_to: Destination | None = next(
        (destination for destination in destinations if destination.id == picked),
        (merchants or destinations)[-1] if destinations else None,
    )
    return await _render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "merchant": merchant,
            "destinations": destinations,
            "payout_to": payout_to,
            "payout_cents": payout_cents,
            "payout_text": payout_text,
            "payout_invalid": bool(payout_text) and dollars_cents(payout_text) is None,
            "timeline": timeline,
            "escrow_chart": await _escrow_chart(request, order["id"]),
            "forms": forms or {},
        },
        status=status,
    )


async def escrow_figure(request: web.Request) -> web.Response:
    """The order's escrow alone: a live element of its page."""
    return await render(request, "orders/escrow.html", {"order": await _order(request)})


async def _escrow_chart(request: web.Request, order_id: str) -> charts.EscrowChart:
    history = await ledger_dashboard.order_escrow_history(
        context.pool(request), context.marketplace_id(request), order_id
    )
    return charts.escrow_chart(history)


async def escrow_chart_part(request: web.Request) -> web.Response:
    """The order's escrow over time alone: a live element of its page."""
    order = await _order(request)
    return await render(
        request,
        "orders/escrow_chart.html",
        {"order": order, "escrow_chart": await _escrow_chart(request, order["id"])},
    )


async def timeline_part(request: web.Request) -> web.Response:
    """The order's timeline alone: a live element of its page (any event may add a row)."""
    order = await _order(request)
    timeline = await ledger_dashboard.order_timeline(
        context.pool(request), context.marketplace_id(request), order["id"]
    )
    return await _render(
        request, "orders/timeline.html", {"order": order, "timeline": timeline, "forms": {}}
    )


async def payout_form(request: web.Request) -> web.Response:
    """A fresh payout form (a new nonce) for `bank_account`, of the whole escrow: what
    "Pay out again" fetches. Without htmx, the order's page."""
    if request.headers.get("HX-Request") != "true":
        raise web.HTTPSeeOther(url(request, "orders.detail", id=request.match_info["id"]))
    order = await _order(request)
    bank_account_id = request.query.get("bank_account", "")
    return await _render(
        request,
        "orders/payout_form.html",
        {
            "order_id": order["id"],
            "form_id": "payout",
            "target_id": bank_account_id,
            "target_label": await _destination_label(request, bank_account_id),
            "amount_cents": order["amount_escrowed_cents"],
            "error": None,
            "done": None,
        },
    )


# The templates of the forms that return part of a transfer, by what they do.
RETURN_FORMS = {"refund": "orders/refund_form.html", "reverse": "orders/reverse_form.html"}


async def return_form(request: web.Request) -> web.Response:
    """A refund or reversal form for another amount (`amount`, dollars) of transfer
    `target`, with a fresh nonce: what a timeline row's "Change" fetches. The ledger still
    decides whether that much remains. Without htmx, the order's page."""
    order_id = request.match_info["id"]
    kind = request.query.get("kind", "")
    if request.headers.get("HX-Request") != "true" or kind not in RETURN_FORMS:
        raise web.HTTPSeeOther(url(request, "orders.detail", id=order_id))
    await _order(request)  # The order must be this marketplace's.
    target_id = request.query.get("target", "")
    current_cents = actions.cents(request.query.get("current")) or 0
    wanted_cents = dollars_cents(request.query.get("amount", ""))
    return await _render(
        request,
        RETURN_FORMS[kind],
        {
            "order_id": order_id,
            "form_id": f"{kind}-{target_id}",
            "target_id": target_id,
            "amount_cents": wanted_cents or current_cents,
            "error": None if wanted_cents else "Type an amount in dollars, e.g. 12.50.",
            "done": None,
        },
    )


async def _act(
    request: web.Request,
    *,
    form_prefix: str,
    template: str,
    target_field: str,
    move: Move,
    done: Callable[[TransferResult], str],
    target_label: Callable[[str], Awaitable[str]] | None = None,
) -> web.Response:
    """Read the target and the confirmed amount, run `move` on them, and answer the form
    again (htmx) or the whole page, with the API's error text or `done`."""
    form = await read_form(request)
    order_id = request.match_info["id"]
    target_id = text_field(form, target_field)
    amount_cents = actions.cents(text_field(form, "amount_cents"))
    form_nonce = actions.nonce(text_field(form, actions.FORM_NONCE_FIELD))
    # A payout form is one per page; a refund or reversal form one per transfer.
    form_id = form_prefix if form_prefix == "payout" else f"{form_prefix}-{target_id}"
    error: str | None = None
    message: str | None = None
    if target_id is None or amount_cents is None or form_nonce is None:
        error = "The form is incomplete: reload the page and try again."
    elif form.get("confirm") != "yes":
        error = "Tick the box to confirm the amount."
    else:
        marketplace_id = context.marketplace_id(request)
        wanted = TransferRequest(amount_cents=amount_cents, order_id=order_id)
        outcome = await actions.transfer(
            request,
            lambda connection: move(connection, marketplace_id, target_id, wanted),
            form_nonce=form_nonce,
        )
        error = outcome.error
        if outcome.replayed:
            # The same form again: nothing moved; say what the first submission did.
            message = "Already done" + (
                f": {outcome.first_answer}" if outcome.first_answer else "."
            )
        elif outcome.result is not None:
            message = done(outcome.result) if error is None else None
            await actions.remember(request, form_nonce, message or error or "")
    if request.headers.get("HX-Request") == "true":
        return await _render(
            request,
            template,
            {
                "order_id": order_id,
                "form_id": form_id,
                "target_id": target_id or "",
                "target_label": (
                    await target_label(target_id) if target_label and target_id else None
                ),
                "amount_cents": amount_cents or 0,
                "error": error,
                "done": message,
            },
        )
    return await order_page(
        request,
        forms={form_id: {"error": error, "done": message}},
        status=422 if error else 200,
    )


async def _destination_label(request: web.Request, bank_account_id: str) -> str:
    order = await _order(request)
    merchant = await ledger_dashboard.customer(
        context.pool(request), context.marketplace_id(request), order["merchant_customer_id"]
    )
    for destination in await payout_destinations(request, merchant):
        if destination.id == bank_account_id:
            return destination.label
    return f"bank account {bank_account_id}"


async def pay_out(request: web.Request) -> web.Response:
    return await _act(
        request,
        form_prefix="payout",
        template="orders/payout_form.html",
        target_field="bank_account_id",
        move=credits.credit_bank_account,
        target_label=lambda bank_account_id: _destination_label(request, bank_account_id),
        done=lambda result: (
            f"Paid out {_dollars(result.row.amount_cents)}: credit {result.row.id} is "
            f"{result.row.status}."
        ),
    )


async def refund(request: web.Request) -> web.Response:
    return await _act(
        request,
        form_prefix="refund",
        template="orders/refund_form.html",
        target_field="debit_id",
        move=debits.refund,
        done=lambda result: f"Refunded {_dollars(result.row.amount_cents)} ({result.row.id}).",
    )


async def reverse(request: web.Request) -> web.Response:
    return await _act(
        request,
        form_prefix="reverse",
        template="orders/reverse_form.html",
        target_field="credit_id",
        move=credits.reverse,
        done=lambda result: (
            f"Reversal {result.row.id} of {_dollars(result.row.amount_cents)} is "
            f"{result.row.status}."
        ),
    )


ROUTES = [
    web.get("/orders", orders_list, name="orders.index"),
    web.get("/orders/{id}", order_page, name="orders.detail"),
    web.get("/orders/{id}/escrow", escrow_figure, name="orders.escrow"),
    web.get("/orders/{id}/escrow-chart", escrow_chart_part, name="orders.escrow_chart"),
    web.get("/orders/{id}/timeline", timeline_part, name="orders.timeline"),
    web.get("/orders/{id}/payout-form", payout_form, name="orders.payout_form"),
    web.get("/orders/{id}/return-form", return_form, name="orders.return_form"),
    web.post("/orders/{id}/payouts", pay_out, name="orders.payout"),
    web.post("/orders/{id}/refunds", refund, name="orders.refund"),
    web.post("/orders/{id}/reversals", reverse, name="orders.reverse"),
]
