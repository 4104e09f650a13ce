"""The dashboard sub-application, mounted on the API at DASHBOARD_PREFIX (api/app.py)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp_session import session_middleware

from dashboard import rail_client, session, templating
from dashboard.csrf import csrf_middleware
from dashboard.errors import error_pages_middleware
from dashboard.keys import LIVE_HUB
from dashboard.live import LiveHub
from dashboard.security import add_security_headers
from dashboard.urls import DASHBOARD_PREFIX
from dashboard.views import routes

STATIC_DIR = Path(__file__).parent / "static"

__all__ = ["DASHBOARD_PREFIX", "create_dashboard"]


async def _close_live_hub(app: web.Application) -> None:
    """on_shutdown: end the event streams, or the server would wait for them to end."""
    await app[LIVE_HUB].close()


def create_dashboard(session_key: str) -> web.Application:
    """The dashboard; its pool, queue and settings are the API's (dashboard.context)."""
    app = web.Application(
        middlewares=[
            # Outermost: the session is there for the error pages' CSRF token too.
            session_middleware(session.storage(session_key)),
            error_pages_middleware,
            csrf_middleware,
            session.operator_middleware,
        ]
    )
    templating.setup(app)
    app[LIVE_HUB] = LiveHub()
    app.on_shutdown.append(_close_live_hub)
    app.cleanup_ctx.append(rail_client.http_session)
    app.on_response_prepare.append(add_security_headers)
    app.router.add_routes(routes())
    app.router.add_static("/static", STATIC_DIR, name="static", append_version=False)
    return app
