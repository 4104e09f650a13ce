"""Typed state of the dashboard sub-application and its requests (aiohttp keys)."""

from __future__ import annotations

from aiohttp import web

from dashboard.live import LiveHub
from ledger.dashboard import Operator

# Live events fanned out to the open streams (dashboard.live).
LIVE_HUB = web.AppKey("dashboard_live_hub", LiveHub)
# Who the request acts for, once dashboard.session has checked the session's key.
OPERATOR = web.RequestKey("dashboard_operator", Operator)
