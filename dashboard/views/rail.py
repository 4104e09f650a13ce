"""The rail (`/dashboard/rail`): the simulated ACH network beside ballast, driven through
its control API from the server (dashboard.rail_client; the control token never reaches a
page). Its clock (banking day, next settlement window and cut-off; freeze, resume,
advance), per-entry simulations on this marketplace's transfers (settle, return with an R
code, notification of change), its rules (view, edit: the rail validates), and its NACHA
files (list, download, a readable parsed view).

A transfer's rail entry has the transfer's id (workers/submit sends it so, and
workers/reconcile asks by it); the page only acts on entries of this marketplace's
transfers (ledger.dashboard.rail_transfer)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from dashboard import context, nacha_view
from dashboard.forms import read_form, text_field
from dashboard.rail_client import Rail, RailError, rail
from dashboard.templating import render
from ledger import dashboard as ledger_dashboard
from ledger.dashboard import RailTransfer
from ledger.errors import NotFound
from rails.clock import BANKING_DAYS_MAX, is_banking_day
from rails.codes import CORRECTION_REASONS, RETURN_REASONS

EASTERN = ZoneInfo("America/New_York")
# The rules editor's text is a JSON list of at most RULES_MAX rules; this bounds the form.
RULES_TEXT_CHARS_MAX = 512 * 1024
# The rail names its files from letters, digits, dots, dashes and underscores.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HOURS_MAX = 24 * 30
HOUR_MS = 3_600_000
SIMULATIONS = {"settle": "Settle", "return": "Return", "correct": "Notification of change"}


def _when(iso: str | None) -> datetime | None:
    return None if iso is None else datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _clock_view(clock: dict[str, Any]) -> dict[str, Any]:
    now = _when(clock["now"])
    assert now is not None
    eastern = now.astimezone(EASTERN)
    window = clock["next_window"]
    return {
        "now": now,
        "eastern": eastern.strftime("%a %Y-%m-%d %H:%M ET"),
        "banking_day": is_banking_day(eastern.date()),
        "frozen": clock["frozen"],
        "mode": clock["mode"],
        "day_ms": clock["day_ms"],
        "window": window["name"],
        "cutoff": _when(window["cutoff"]),
        "settlement": _when(window["settlement"]),
    }


def _configured(request: web.Request) -> Rail:
    control = rail(request)
    if control is None:
        raise web.HTTPNotFound(reason="The rail is not configured.")
    return control


async def rail_page(
    request: web.Request,
    *,
    notice: str | None = None,
    error: str | None = None,
    rules_text: str | None = None,
    rules_error: str | None = None,
    picked_id: str | None = None,
    status: int = 200,
) -> web.Response:
    control = rail(request)
    if control is None:
        return await render(request, "rail/not_configured.html", {}, status=status)
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    page: dict[str, Any] = {
        "notice": notice,
        "error": error,
        "rules_error": rules_error,
        "return_codes": RETURN_REASONS,
        "correction_codes": CORRECTION_REASONS,
        "banking_days_max": BANKING_DAYS_MAX,
        "hours_max": HOURS_MAX,
        "pending": await ledger_dashboard.rail_transfers_pending(pool, marketplace_id),
        "picked": None,
        "picked_error": None,
        "entry": None,
        "clock": None,
        "rules_text": rules_text,
        "rail_error": None,
    }
    try:
        page["clock"] = _clock_view(await control.clock())
        if rules_text is None:
            page["rules_text"] = json.dumps(await control.rules(), indent=2)
        picked_id = picked_id or (request.query.get("entry") or "").strip()
        if picked_id:
            page.update(await _picked(request, control, picked_id))
    except RailError as failure:
        page["rail_error"] = failure.message
    return await render(request, "rail/index.html", page, status=status)


async def _picked(request: web.Request, control: Rail, transfer_id: str) -> dict[str, Any]:
    try:
        transfer = await ledger_dashboard.rail_transfer(
            context.pool(request), context.marketplace_id(request), transfer_id[:64]
        )
    except NotFound as missing:
        return {"picked_error": missing.description}
    return {"picked": transfer, "entry": await control.entry(transfer.id)}


async def transfer_status(request: web.Request) -> web.Response:
    """A picked transfer's status badge: the live element of the entry panel."""
    transfer = await ledger_dashboard.rail_transfer(
        context.pool(request), context.marketplace_id(request), request.match_info["id"]
    )
    return await render(request, "rail/transfer_status.html", {"picked": transfer})


async def _act(request: web.Request, action: Callable[[Rail], Awaitable[str]]) -> web.Response:
    """Run one rail action and show the page with its outcome (the rail's error text)."""
    control = _configured(request)
    try:
        notice = await action(control)
    except RailError as failure:
        return await rail_page(request, error=failure.message, status=422)
    return await rail_page(request, notice=notice)


async def freeze(request: web.Request) -> web.Response:
    async def action(control: Rail) -> str:
        await control.set_frozen(True)
        return "The rail's clock is frozen: nothing falls due until you advance it."

    return await _act(request, action)


async def resume(request: web.Request) -> web.Response:
    async def action(control: Rail) -> str:
        await control.set_frozen(False)
        return "The rail's clock runs again."

    return await _act(request, action)


async def advance(request: web.Request) -> web.Response:
    form = await read_form(request)
    amount, unit = text_field(form, "amount"), text_field(form, "unit")
    limit = BANKING_DAYS_MAX if unit == "banking_days" else HOURS_MAX
    if amount is None or not amount.isdigit() or not 1 <= int(amount) <= limit:
        error = f"Advance by a whole number from 1 to {limit}."
        return await rail_page(request, error=error, status=422)
    count = int(amount)

    async def action(control: Rail) -> str:
        if unit == "banking_days":
            await control.advance(banking_days=count)
            return f"Advanced {count} banking day{'' if count == 1 else 's'}."
        await control.advance(ms=count * HOUR_MS)
        return f"Advanced {count} hour{'' if count == 1 else 's'}."

    return await _act(request, action)


async def _simulate(request: web.Request, action_name: str) -> web.Response:
    """settle, return or correct one entry; answered as the confirm form (htmx) or the
    whole page with the entry picked."""
    control = _configured(request)
    form = await read_form(request)
    transfer_id = request.match_info["id"]
    body: dict[str, Any] = {}
    error: str | None = None
    if action_name == "return":
        code = text_field(form, "code")
        body = {"code": code}
        if code not in RETURN_REASONS:
            error = "Choose a return code from the list."
    elif action_name == "correct":
        code, data = text_field(form, "code"), text_field(form, "corrected_data")
        body = {"code": code, "corrected_data": data}
        if code not in CORRECTION_REASONS or data is None:
            error = "Choose a change code and give the corrected data."
    transfer: RailTransfer | None = None
    try:
        transfer = await ledger_dashboard.rail_transfer(
            context.pool(request), context.marketplace_id(request), transfer_id
        )
    except NotFound as missing:
        error = missing.description
    done = None
    if error is None and transfer is not None:
        try:
            entry = await control.simulate(transfer.id, action_name, body)
        except RailError as failure:
            error = failure.message
        else:
            done = _done(action_name, entry)
    if request.headers.get("HX-Request") == "true" and transfer is not None:
        return await render(
            request,
            "rail/simulation.html",
            {
                "picked": transfer,
                "action_name": action_name,
                "return_codes": RETURN_REASONS,
                "correction_codes": CORRECTION_REASONS,
                "error": error,
                "done": done,
            },
        )
    return await rail_page(
        request, notice=done, error=error, picked_id=transfer_id, status=200 if done else 422
    )


def _done(action_name: str, entry: dict[str, Any]) -> str:
    if action_name == "return":
        return f"Returned with {entry['return_code']}: the rail notifies ballast now."
    if action_name == "correct":
        return f"Notification of change {entry['correction_code']} sent; the entry settles."
    return "Settled: the rail notifies ballast now."


async def settle(request: web.Request) -> web.Response:
    return await _simulate(request, "settle")


async def return_entry(request: web.Request) -> web.Response:
    return await _simulate(request, "return")


async def correct(request: web.Request) -> web.Response:
    return await _simulate(request, "correct")


async def put_rules(request: web.Request) -> web.Response:
    control = _configured(request)
    form = await read_form(request)
    text = form.get("rules")
    if not isinstance(text, str) or len(text) > RULES_TEXT_CHARS_MAX:
        return await rail_page(request, rules_error="The rules could not be read.", status=422)
    try:
        json.loads(text)
    except ValueError as bad:
        return await rail_page(
            request, rules_text=text, rules_error=f"Not JSON: {bad}.", status=422
        )
    try:
        rules = await control.put_rules(text)
    except RailError as failure:
        return await rail_page(request, rules_text=text, rules_error=failure.message, status=422)
    count = len(rules)
    notice = f"Rules saved: {count} rule{'' if count == 1 else 's'}, for entries from now on."
    return await rail_page(request, notice=notice)


async def files_page(request: web.Request) -> web.Response:
    control = rail(request)
    if control is None:
        return await render(request, "rail/not_configured.html", {})
    try:
        listing = await control.files()
    except RailError as failure:
        return await render(
            request,
            "rail/files.html",
            {"files": [], "enabled": True, "rail_error": failure.message},
        )
    files = [file | {"created": _when(file["created_at"])} for file in listing["files"]]
    return await render(
        request,
        "rail/files.html",
        {"files": files, "enabled": listing["enabled"], "rail_error": None},
    )


async def _file(request: web.Request) -> tuple[str, bytes]:
    control = _configured(request)
    name = request.match_info["file"]
    if not FILE_NAME.fullmatch(name):
        raise web.HTTPNotFound()
    try:
        return name, await control.file(name)
    except RailError as failure:
        if failure.message == "no such file":
            raise web.HTTPNotFound() from None
        raise web.HTTPServiceUnavailable(reason=failure.message) from None


async def file_page(request: web.Request) -> web.Response:
    name, body = await _file(request)
    parsed = nacha_view.parse(body.decode("ascii", "replace"))
    return await render(request, "rail/file.html", {"name": name, "file": parsed})


async def file_download(request: web.Request) -> web.Response:
    name, body = await _file(request)
    return web.Response(
        body=body,
        content_type="text/plain",
        charset="ascii",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


ROUTES = [
    web.get("/rail", rail_page, name="rail.index"),
    web.post("/rail/clock/freeze", freeze, name="rail.freeze"),
    web.post("/rail/clock/resume", resume, name="rail.resume"),
    web.post("/rail/clock/advance", advance, name="rail.advance"),
    web.get("/rail/transfers/{id}/status", transfer_status, name="rail.transfer_status"),
    web.post("/rail/entries/{id}/settle", settle, name="rail.settle"),
    web.post("/rail/entries/{id}/return", return_entry, name="rail.return_entry"),
    web.post("/rail/entries/{id}/correct", correct, name="rail.correct"),
    web.post("/rail/rules", put_rules, name="rail.rules"),
    web.get("/rail/files", files_page, name="rail.files"),
    web.get("/rail/files/{file}", file_page, name="rail.file"),
    web.get("/rail/files/{file}/download", file_download, name="rail.download"),
]
