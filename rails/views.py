"""HTTP handlers: validate input once at the edge, call the bank, map its errors.

Every response body is JSON; errors are `{"error": "..."}` with the matching status.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rails.bank import Bank, InvalidOutcome
from rails.clock import (
    BANKING_DAYS_MAX,
    DAY_MS,
    add_banking_days,
    iso_from_ms,
    ms_from_datetime,
)
from rails.files import FileInfo
from rails.models import EntryBatchRequest, EntryRequest
from rails.rules import (
    CORRECTED_DATA_LENGTH_MAX,
    RuleBook,
    RulesError,
    describe_validation_error,
    parse_rules,
)
from rails.scheduler import SchedulerFull
from rails.store import Conflict, Entry, StoreFull

bank_key = web.AppKey("bank", Bank)

# The slowest pace worth having: ten wall days per simulated day.
DAY_MS_MAX = 10 * DAY_MS
# GET /files pages: a hundred names by default, a thousand (~200 KB of JSON) at most.
FILES_LIMIT_DEFAULT = 100
FILES_LIMIT_MAX = 1000


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ReturnBody(_Body):
    code: str = "R03"  # Increase's default reason: no account.


class CorrectBody(_Body):
    code: str
    corrected_data: Annotated[str, Field(min_length=1, max_length=CORRECTED_DATA_LENGTH_MAX)]


class AdvanceBody(_Body):
    banking_days: Annotated[int, Field(ge=0, le=BANKING_DAYS_MAX)] | None = None
    ms: Annotated[int, Field(ge=0, le=BANKING_DAYS_MAX * DAY_MS)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AdvanceBody:
        if (self.banking_days is None) == (self.ms is None):
            raise ValueError("give exactly one of banking_days or ms")
        return self


class ClockBody(_Body):
    day_ms: Annotated[int, Field(ge=0, le=DAY_MS_MAX)] | None = None
    frozen: bool | None = None
    now: datetime | None = None  # Set simulated time; only forward once entries exist.

    @model_validator(mode="after")
    def _something(self) -> ClockBody:
        if self.day_ms is None and self.frozen is None and self.now is None:
            raise ValueError("give day_ms, frozen or now")
        if self.now is not None and self.now.tzinfo is None:
            raise ValueError("now needs a timezone, e.g. 2026-11-27T15:00:00Z")
        return self


Model = TypeVar("Model", bound=BaseModel)


async def _parse(request: web.Request, model: type[Model], *, empty_ok: bool = False) -> Model:
    raw = await request.read()
    if empty_ok and not raw.strip():
        raw = b"{}"
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise ApiError(400, describe_validation_error(error)) from None


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _entry(request: web.Request) -> tuple[Bank, Entry]:
    bank = request.app[bank_key]
    entry = bank.store.get(request.match_info["entry_id"])
    if entry is None:
        raise ApiError(404, "no such entry")
    return bank, entry


async def submit_entry(request: web.Request) -> web.Response:
    body = await _parse(request, EntryRequest)
    bank = request.app[bank_key]
    try:
        entry, created = bank.submit(body)
    except Conflict as error:
        raise ApiError(409, str(error)) from None
    except (SchedulerFull, StoreFull) as error:
        raise ApiError(503, str(error)) from None
    return _json(bank.store.render(entry), 201 if created else 200)


async def submit_entries(request: web.Request) -> web.Response:
    """Many entries in one request, each handled as `POST /entries` would handle it alone:
    one entry's conflict does not refuse the others."""
    body = await _parse(request, EntryBatchRequest)
    bank = request.app[bank_key]
    results = [_submit_one(bank, entry) for entry in body.entries]
    return _json({"results": results})


def _submit_one(bank: Bank, body: EntryRequest) -> dict[str, Any]:
    try:
        entry, created = bank.submit(body)
    except Conflict as error:
        return {"id": body.id, "status": 409, "error": str(error)}
    except (SchedulerFull, StoreFull) as error:
        return {"id": body.id, "status": 503, "error": str(error)}
    return {"id": body.id, "status": 201 if created else 200, "entry": bank.store.render(entry)}


async def get_entry(request: web.Request) -> web.Response:
    bank, entry = _entry(request)
    return _json(bank.store.render(entry))


async def simulate_settle(request: web.Request) -> web.Response:
    bank, entry = _entry(request)
    try:
        bank.force_settle(entry)
    except InvalidOutcome as error:
        raise ApiError(409, str(error)) from None
    return _json(bank.store.render(entry))


async def simulate_return(request: web.Request) -> web.Response:
    bank, entry = _entry(request)
    body = await _parse(request, ReturnBody, empty_ok=True)
    try:
        bank.force_return(entry, body.code)
    except InvalidOutcome as error:
        raise ApiError(409, str(error)) from None
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    return _json(bank.store.render(entry))


async def simulate_correct(request: web.Request) -> web.Response:
    bank, entry = _entry(request)
    body = await _parse(request, CorrectBody)
    try:
        bank.force_correct(entry, body.code, body.corrected_data)
    except InvalidOutcome as error:
        raise ApiError(409, str(error)) from None
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    return _json(bank.store.render(entry))


def _clock_json(bank: Bank) -> dict[str, Any]:
    clock = bank.clock
    now_ms = clock.now_ms()
    slot = bank.calendar.slot_for(now_ms)
    return {
        "now": iso_from_ms(now_ms),
        "mode": clock.mode,
        "day_ms": clock.day_ms,
        "frozen": clock.frozen,
        "same_day_ach": bank.calendar.same_day,
        # The window an entry submitted now (within the same-day limit) would catch.
        "next_window": {
            "name": slot.window.name,
            "cutoff": iso_from_ms(slot.cutoff_ms),
            "settlement": iso_from_ms(slot.settlement_ms),
        },
    }


async def get_clock(request: web.Request) -> web.Response:
    return _json(_clock_json(request.app[bank_key]))


async def advance_clock(request: web.Request) -> web.Response:
    """Move simulated time forward and apply everything that fell due before replying."""
    body = await _parse(request, AdvanceBody)
    bank = request.app[bank_key]
    now_ms = bank.clock.now_ms()
    if body.banking_days is not None:
        bank.clock.advance_to(add_banking_days(now_ms, body.banking_days))
    else:
        assert body.ms is not None
        bank.clock.advance_to(now_ms + body.ms)
    await bank.scheduler.drain()
    bank.scheduler.wake()
    return _json(_clock_json(bank))


async def set_clock(request: web.Request) -> web.Response:
    body = await _parse(request, ClockBody)
    bank = request.app[bank_key]
    clock = bank.clock
    if body.now is not None:
        target_ms = ms_from_datetime(body.now)
        # Going back would order entry timestamps wrongly; before any entry it is harmless
        # and lets a test start on a chosen date.
        if target_ms < clock.now_ms() and len(bank.store) > 0:
            raise ApiError(400, "the clock never goes back once entries exist")
        clock.set_now(target_ms)
    if body.day_ms is not None:
        clock.set_pace(body.day_ms)  # Also unfreezes, unless "frozen": true comes with it.
    if body.frozen is True:
        clock.freeze()
    elif body.frozen is False:
        clock.resume()
    bank.scheduler.wake()
    return _json(_clock_json(bank))


async def get_rules(request: web.Request) -> web.Response:
    return _json(request.app[bank_key].rules.to_json())


async def put_rules(request: web.Request) -> web.Response:
    bank = request.app[bank_key]
    try:
        data = json.loads(await request.read())
        rules = parse_rules(data)
    except (ValueError, RulesError) as error:  # json.JSONDecodeError is a ValueError.
        raise ApiError(400, str(error)) from None
    bank.rules = RuleBook(rules)  # Entries already submitted keep their planned outcome.
    return _json(bank.rules.to_json())


def _file_json(info: FileInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "kind": info.kind,
        "created_at": iso_from_ms(info.created_at_ms),
        "entries": info.entries,
        "size_bytes": info.size_bytes,
        "href": f"/files/{info.name}",
    }


async def list_files(request: web.Request) -> web.Response:
    """The NACHA files sent and received, newest first (`?limit=`, at most FILES_LIMIT_MAX)."""
    files = request.app[bank_key].files
    try:
        limit = int(request.query.get("limit", FILES_LIMIT_DEFAULT))
    except ValueError:
        raise ApiError(400, "limit must be a whole number") from None
    if not 1 <= limit <= FILES_LIMIT_MAX:
        raise ApiError(400, f"limit must be within 1..{FILES_LIMIT_MAX}")
    listed = [] if files is None else files.files()[:limit]
    return _json({"enabled": files is not None, "files": [_file_json(info) for info in listed]})


async def get_file(request: web.Request) -> web.Response:
    files = request.app[bank_key].files
    body = None if files is None else files.read(request.match_info["name"])
    if body is None:
        raise ApiError(404, "no such file")
    return web.Response(body=body, content_type="text/plain", charset="ascii")


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


async def healthz(request: web.Request) -> web.Response:
    bank = request.app[bank_key]
    notifier = bank.notifier
    return _json(
        {
            "status": "ok",
            "entries": len(bank.store),
            # Submissions of an id already stored, answered with that entry (idempotent).
            "resubmissions": bank.resubmissions,
            # Since when the rail's journal holds every entry it accepted (None: no journal,
            # so "no such entry" says nothing about entries from before this process).
            "journal_since": _iso_or_none(bank.store.journal_since),
            # Includes steps cancelled by a simulation: they leave the heap when due.
            "scheduled": len(bank.scheduler),
            "notifications_queued": notifier.queued,
            "notifications_delivered": notifier.delivered,
            "notifications_failed": notifier.failed + notifier.dropped,
        }
    )
