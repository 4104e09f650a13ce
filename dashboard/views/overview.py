"""The overview (`/dashboard/`): the marketplace's money at a glance.

Money in escrow, payouts in flight, today's volume, the payouts' return rate over the
last 30 days, failing callbacks, and a chart of the last CHART_DAYS days. Its figures
refresh themselves on every event of the marketplace (`data-live-entity="*"`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from dashboard import charts, context
from dashboard.templating import render
from ledger import dashboard as ledger_dashboard

CHART_DAYS = 14
RETURN_RATE_DAYS = 30


async def overview(request: web.Request) -> web.Response:
    pool, marketplace_id = context.pool(request), context.marketplace_id(request)
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    chart_start = today - timedelta(days=CHART_DAYS - 1)
    activity = await ledger_dashboard.daily_activity(pool, marketplace_id, chart_start)
    figures = {
        "escrow": await ledger_dashboard.money_in_escrow(pool, marketplace_id),
        "in_flight": await ledger_dashboard.payouts_in_flight(pool, marketplace_id),
        "today": await ledger_dashboard.volume_since(pool, marketplace_id, today),
        "outcomes": await ledger_dashboard.payout_outcomes_since(
            pool, marketplace_id, now - timedelta(days=RETURN_RATE_DAYS)
        ),
        "return_rate_days": RETURN_RATE_DAYS,
        "failing": await ledger_dashboard.failing_callbacks(pool, marketplace_id),
        "chart": charts.activity_chart(activity, chart_start.date(), CHART_DAYS),
    }
    # htmx refreshes only the figures (the live element), not the whole page.
    template = (
        "overview/figures.html" if request.query.get("part") == "figures" else "overview/index.html"
    )
    return await render(request, template, figures)


ROUTES = [web.get("/", overview, name="overview.index")]
