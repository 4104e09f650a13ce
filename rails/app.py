"""The rail's aiohttp application: factory, route table, error middleware and runner."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from rails import views
from rails.bank import Bank
from rails.clock import BankingClock
from rails.config import CONTROL_TOKEN_ENV, RailConfig
from rails.notifier import NOTIFY_CONCURRENCY, Notifier
from rails.rules import DEFAULT_RULES, RuleBook, load_rules_toml
from rails.store import Store
from rails.views import ApiError, bank_key
from rails.windows import Calendar

__all__ = ["RailConfig", "bank_key", "create_app", "run"]

log = logging.getLogger(__name__)

# The largest request body: a full rule list (1000 rules) is ~300 KB; an entry < 3 KB.
BODY_BYTES_MAX = 1024 * 1024
# Not a NACHA file name (those end in .ach), so GET /files never lists it.
JOURNAL_NAME = "entries.journal"

# What ballast's workers use (entries, submitted and read back) and health: open, since
# the rail is reached only by ballast itself and its operator.
SERVICE_ROUTES = [
    web.post("/entries", views.submit_entry),
    web.post("/entries/batch", views.submit_entries),
    web.get("/entries/{entry_id}", views.get_entry),
    web.get("/healthz", views.healthz),
]
# The control API: it forces outcomes, changes rules and moves the clock, and its files
# carry whole account numbers. It needs `Authorization: Bearer <control token>`
# (BALLAST_RAIL_CONTROL_TOKEN) unless the rail runs with `--open-control`.
CONTROL_ROUTES = [
    web.post("/simulations/entries/{entry_id}/settle", views.simulate_settle),
    web.post("/simulations/entries/{entry_id}/return", views.simulate_return),
    web.post("/simulations/entries/{entry_id}/correct", views.simulate_correct),
    web.get("/clock", views.get_clock),
    web.put("/clock", views.set_clock),
    web.post("/clock/advance", views.advance_clock),
    web.get("/rules", views.get_rules),
    web.put("/rules", views.put_rules),
    web.get("/files", views.list_files),
    web.get("/files/{name}", views.get_file),
]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as `{"error": ...}` JSON and log the unexpected ones."""
    try:
        return await handler(request)
    except ApiError as error:
        return web.json_response({"error": error.message}, status=error.status)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        # Router 404/405 and oversized bodies (413); keep headers such as Allow.
        body = json.dumps({"error": error.reason})
        return web.Response(
            text=body,
            status=error.status,
            headers=_kept_headers(error),
            content_type="application/json",
        )
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return web.json_response({"error": "internal error"}, status=500)


def _kept_headers(error: web.HTTPException) -> dict[str, str]:
    return {name: value for name, value in error.headers.items() if name.lower() == "allow"}


def _guarded(route: web.RouteDef, control_token: str) -> web.RouteDef:
    """The route, answering 401 before its handler runs (and reads anything) unless the
    request carries the control token."""
    expected = control_token.encode()
    handler = route.handler
    assert not isinstance(handler, type), "the rail's handlers are functions"

    async def guarded(request: web.Request) -> web.StreamResponse:
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        # Constant time: the comparison must not tell how much of a guess was right.
        valid = hmac.compare_digest(presented.strip().encode(), expected)
        if scheme.lower() != "bearer" or not valid:
            return web.json_response(
                {"error": f"the control API needs Authorization: Bearer ${CONTROL_TOKEN_ENV}"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="rail control"'},
            )
        return await handler(request)

    return web.route(route.method, route.path, guarded, **route.kwargs)


def _journal_path(config: RailConfig) -> Path | None:
    """The entries journal lives beside the NACHA files: the rail's one data directory."""
    if config.nacha_dir is None:
        return None
    Path(config.nacha_dir).mkdir(parents=True, exist_ok=True)
    return Path(config.nacha_dir) / JOURNAL_NAME


def create_app(config: RailConfig) -> web.Application:
    """Build the rail. Rules are loaded here, so a bad rules file fails before serving."""
    rules = load_rules_toml(config.rules_path) if config.rules_path else DEFAULT_RULES
    rulebook = RuleBook(rules)
    app = web.Application(middlewares=[error_middleware], client_max_size=BODY_BYTES_MAX)
    app.add_routes(SERVICE_ROUTES)
    if config.open_control:
        app.add_routes(CONTROL_ROUTES)
    else:
        assert config.control_token is not None, "RailConfig requires one"
        app.add_routes(_guarded(route, config.control_token) for route in CONTROL_ROUTES)

    async def bank_context(app: web.Application) -> AsyncIterator[None]:
        # Explicit connector limit: the notifier never needs more sockets than workers.
        connector = aiohttp.TCPConnector(limit=NOTIFY_CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            notifier = Notifier(
                session,
                config.secret,
                retry_base_ms=config.notify_retry_base_ms,
                max_attempts=config.notify_max_attempts,
                batch_max=config.notify_batch_max,
            )
            app[bank_key] = Bank(
                clock=BankingClock(config.day_ms),
                rules=rulebook,
                store=Store(journal_path=_journal_path(config)),
                notifier=notifier,
                calendar=Calendar(same_day=config.same_day_ach),
                nacha_dir=None if config.nacha_dir is None else Path(config.nacha_dir),
            )
            notifier.start()
            try:
                yield
            finally:
                await notifier.close()

    async def scheduler_context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(app[bank_key].scheduler.run(), name="rail-scheduler")
        yield
        app[bank_key].close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(bank_context)
    app.cleanup_ctx.append(scheduler_context)
    return app


def run(config: RailConfig) -> None:
    """Serve the rail until SIGINT/SIGTERM; no banner, no access log."""
    web.run_app(create_app(config), host=config.host, port=config.port, print=None, access_log=None)
