"""Transactions (`/dashboard/transactions`): every transfer of the marketplace — debits,
credits, refunds, reversals, settlements — filtered by kind, status, amount (dollars in
the form, cents in the query) and creation date, paginated, and exported as CSV with the
same filters. Also the live status badge of any one transfer (the order page's)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from aiohttp import web

from dashboard import context, paging
from dashboard.forms import dollars_cents
from dashboard.templating import render
from ledger import dashboard as ledger_dashboard
from ledger.dashboard import TransferFilter, TransferRow

T = TypeVar("T")

KINDS = ("debit", "credit", "refund", "reversal", "settlement")
STATUSES = ("pending", "succeeded", "failed")
# A CSV export holds at most this many transfers, newest first (narrow the filters for more).
CSV_ROWS_MAX = 50_000
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "id",
    "transaction_number",
    "kind",
    "status",
    "amount_cents",
    "amount_dollars",
    "description",
    "order_id",
    "customer_id",
    "source_id",
    "destination_id",
    "failure_reason_code",
    "created_at",
)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    """The filters as the form shows them (what was typed) and as the ledger takes them."""

    kind: str
    status: str
    amount_min: str
    amount_max: str
    created_from: str
    created_to: str
    wanted: TransferFilter
    problems: tuple[str, ...]

    @property
    def any(self) -> bool:
        return any(
            (
                self.kind,
                self.status,
                self.amount_min,
                self.amount_max,
                self.created_from,
                self.created_to,
            )
        )

    def query(self) -> dict[str, str]:
        """The filters as a query string's fields (the CSV link carries them)."""
        fields = {
            "kind": self.kind,
            "status": self.status,
            "min": self.amount_min,
            "max": self.amount_max,
            "from": self.created_from,
            "to": self.created_to,
        }
        return {name: value for name, value in fields.items() if value}


def _field(
    query: Mapping[str, str],
    name: str,
    parse: Callable[[str], T | None],
    problems: list[str],
    problem: str,
) -> tuple[T | None, str]:
    """The query string's field `name` read by `parse`, and its text (at most 32 characters);
    an unreadable one adds `problem` to `problems` and reads as None."""
    text = query.get(name, "").strip()[:32]
    value = parse(text) if text else None
    if text and value is None:
        problems.append(problem)
    return value, text


def filters(request: web.Request) -> Filters:
    """The query string's filters; a malformed one is named in `problems` and ignored."""
    query = request.query
    kind = query.get("kind", "") if query.get("kind", "") in KINDS else ""
    status = query.get("status", "") if query.get("status", "") in STATUSES else ""
    problems: list[str] = []
    not_dollars = "The {} amount is not an amount in dollars (e.g. 12.50)."
    least, least_text = _field(query, "min", dollars_cents, problems, not_dollars.format("minimum"))
    most, most_text = _field(query, "max", dollars_cents, problems, not_dollars.format("maximum"))
    not_a_day = "The {} day is not a date (YYYY-MM-DD)."
    first, first_text = _field(query, "from", _day, problems, not_a_day.format("first"))
    last, last_text = _field(query, "to", _day, problems, not_a_day.format("last"))
    wanted = TransferFilter(
        kind=kind or None,
        status=status or None,
        amount_cents_min=least,
        amount_cents_max=most,
        created_from=None if first is None else datetime.combine(first, time(), UTC),
        # The last day counts whole: up to the next day's midnight (UTC).
        created_until=(
            None if last is None else datetime.combine(last + timedelta(days=1), time(), UTC)
        ),
    )
    return Filters(
        kind, status, least_text, most_text, first_text, last_text, wanted, tuple(problems)
    )


async def transactions_list(request: web.Request) -> web.Response:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    chosen = filters(request)
    limit, offset = paging.limits(request)
    found, total = await ledger_dashboard.transfers_found(
        pool, marketplace_id, chosen.wanted, limit, offset
    )
    csv_url = request.app.router["transactions.csv"].url_for().with_query(chosen.query())
    return await render(
        request,
        "transactions/index.html",
        {
            "transfers": found,
            "filters": chosen,
            "kinds": KINDS,
            "statuses": STATUSES,
            "csv_url": str(csv_url),
            "page": paging.page(request, limit, offset, total),
        },
    )


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a `'`."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_row(transfer: TransferRow) -> list[str]:
    dollars, cents = divmod(transfer.amount_cents, 100)
    return [
        _cell(value)
        for value in (
            transfer.id,
            transfer.transaction_number,
            transfer.kind,
            transfer.status,
            transfer.amount_cents,
            f"{dollars}.{cents:02d}",
            transfer.description,
            transfer.order_id,
            transfer.customer_id,
            transfer.source_id,
            transfer.destination_id,
            transfer.failure_reason_code,
            transfer.created_at.astimezone(UTC).isoformat(),
        )
    ]


async def transactions_csv(request: web.Request) -> web.Response:
    """The filtered transfers as CSV (newest first, at most CSV_ROWS_MAX), as a download."""
    chosen = filters(request)
    found, _ = await ledger_dashboard.transfers_found(
        context.pool(request), context.marketplace_id(request), chosen.wanted, CSV_ROWS_MAX, 0
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(transfer) for transfer in found)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="transactions-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


async def transfer_badge(request: web.Request) -> web.Response:
    """One transfer's status badge (and return code): the live element of the pages."""
    transfer = await ledger_dashboard.transfer_state(
        context.pool(request), context.marketplace_id(request), request.match_info["id"]
    )
    return await render(request, "transactions/badge.html", {"transfer": transfer})


ROUTES = [
    web.get("/transactions", transactions_list, name="transactions.index"),
    web.get("/transactions.csv", transactions_csv, name="transactions.csv"),
    web.get("/transactions/{id}/badge", transfer_badge, name="transactions.badge"),
]
