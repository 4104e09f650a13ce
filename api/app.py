"""The API application factory and its entry point."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware
from arq import create_pool
from arq.connections import RedisSettings

from api.appkeys import (
    CREDIT_BATCHER,
    KEY_CACHE,
    NEW_KEY_BUCKETS,
    POOL,
    RATE_WINDOWS,
    REDIS,
    SETTINGS,
)
from api.auth import auth_middleware
from api.credit_batches import CreditBatcher
from api.errors import Handler, error_middleware
from api.idempotency import idempotency_middleware
from api.keycache import KeyCache
from api.openapi import documented_query_middleware
from api.parsing import text_guard_middleware
from api.queue_health import queue_health_middleware, queue_watch
from api.ratelimit import rate_limit_middleware
from api.routes import routes
from config import Settings, SettingsError, require_session_key
from dashboard.app import DASHBOARD_PREFIX, create_dashboard
from ledger import db, instruments

# Request bodies are small JSON objects; anything above this is refused with a 413.
REQUEST_BODY_BYTES_MAX = 64 * 1024


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[POOL] = await db.create_pool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
    )
    await db.migrate(app[POOL])
    # Rows from before fingerprints were keyed (migration 0003) need the key, which only
    # the application has; a no-op once done.
    await instruments.key_fingerprints(app[POOL], settings.fingerprint_key.encode())
    yield
    await app[POOL].close()


async def _queue(app: web.Application) -> AsyncIterator[None]:
    app[REDIS] = await create_pool(RedisSettings.from_dsn(app[SETTINGS].redis_url))
    yield
    await app[REDIS].aclose()


async def _credit_batcher(app: web.Application) -> AsyncIterator[None]:
    """After the pool and the queue, so that it closes (letting its batches finish) first."""
    app[CREDIT_BATCHER] = CreditBatcher(app[POOL], app[REDIS], app[SETTINGS].queue_name)
    yield
    await app[CREDIT_BATCHER].close()


def _api_only(middleware: Middleware) -> Middleware:
    """`middleware` for the API's own routes only. A sub-application (the dashboard) signs
    its visitors in, checks its forms and answers in HTML itself; aiohttp runs the root's
    middlewares around a sub-application's handlers too, so they step aside for it."""

    @web.middleware
    async def scoped(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.apps[-1] is not request.app:
            return await handler(request)
        return await middleware(request, handler)

    return scoped


def create_app(settings: Settings) -> web.Application:
    session_key = require_session_key(settings)
    app = web.Application(
        middlewares=[
            error_middleware,
            queue_health_middleware,
            *[
                _api_only(middleware)
                for middleware in (
                    auth_middleware,
                    rate_limit_middleware,
                    text_guard_middleware,
                    documented_query_middleware,
                    idempotency_middleware,
                )
            ],
        ],
        client_max_size=REQUEST_BODY_BYTES_MAX,
    )
    app[SETTINGS] = settings
    app[KEY_CACHE] = KeyCache()
    app[RATE_WINDOWS] = {}
    app[NEW_KEY_BUCKETS] = {}
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_queue)
    app.cleanup_ctx.append(queue_watch)
    app.cleanup_ctx.append(_credit_batcher)
    app.add_routes(routes())
    app.add_subapp(DASHBOARD_PREFIX, create_dashboard(session_key))
    return app


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s api %(levelname)s %(message)s")
    try:
        app = create_app(settings)
    except SettingsError as error:
        # One line, as `ballast api` says of the other secrets (config.from_environment).
        print(f"ballast api: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    web.run_app(
        app,
        host=settings.api_host,
        port=settings.api_port,
        reuse_port=settings.api_reuse_port,
        access_log=None,
        print=None,
    )
