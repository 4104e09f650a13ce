"""The dashboard's shell in a real browser: signing in and out, the session cookie, CSRF,
the Content-Security-Policy, escaping, the overview's figures, and the phone layout."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
HOSTILE_NAMES = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def screenshots_wanted() -> bool:
    """Screenshots for the README are written on demand only, so CI leaves the tree clean."""
    return os.environ.get("BALLAST_SCREENSHOTS") == "1"


async def test_signing_in_with_the_api_key_shows_the_overview(
    desktop: Watched, marketplace: Marketplace
) -> None:
    await desktop.sign_in(marketplace.secret)
    await expect(desktop.page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    await expect(desktop.page.get_by_role("link", name="Overview")).to_have_attribute(
        "aria-current", "page"
    )


async def test_a_wrong_key_is_refused_with_a_message(desktop: Watched) -> None:
    await desktop.page.goto(desktop.url("/dashboard/sign-in"))
    await desktop.page.get_by_label("API key secret").fill("ak-not-a-real-key")
    await desktop.page.get_by_role("button", name="Sign in").click()
    await expect(desktop.page.get_by_role("alert")).to_have_text(
        "That API key is not valid (or it was revoked)."
    )
    await desktop.page.goto(desktop.url("/dashboard/"))
    assert desktop.page.url == desktop.url("/dashboard/sign-in")


async def test_signing_out_ends_the_session(desktop: Watched, marketplace: Marketplace) -> None:
    await desktop.sign_in(marketplace.secret)
    await desktop.page.get_by_role("button", name="Sign out").click()
    await expect(desktop.page.get_by_role("status")).to_have_text("You are signed out.")
    await desktop.page.goto(desktop.url("/dashboard/"))
    assert desktop.page.url == desktop.url("/dashboard/sign-in")


async def test_the_session_cookie_is_http_only_and_strict_and_no_page_shows_the_key(
    desktop: Watched, marketplace: Marketplace
) -> None:
    await desktop.sign_in(marketplace.secret)
    [cookie] = await desktop.context.cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard" and marketplace.secret not in cookie["value"]
    assert await desktop.page.evaluate("document.cookie") == ""
    for path in ("/dashboard/", "/dashboard/orders", "/dashboard/api-keys", "/dashboard/nope"):
        await desktop.page.goto(desktop.url(path))
        assert marketplace.secret not in await desktop.page.content(), path


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    desktop: Watched, marketplace: Marketplace
) -> None:
    await desktop.sign_in(marketplace.secret)
    # The page's own origin and cookie, only the token left out.
    status = await desktop.page.evaluate(
        """async () => (await fetch("/dashboard/sign-out",
                                    {method: "POST", body: new URLSearchParams()})).status"""
    )
    assert status == 403
    await desktop.page.goto(desktop.url("/dashboard/"))
    assert desktop.page.url == desktop.url("/dashboard/")  # Still signed in.
    await expect(desktop.page.get_by_role("button", name="Sign out")).to_be_visible()


async def test_pages_carry_a_strict_csp_that_the_overview_never_violates(
    desktop: Watched, marketplace: Marketplace
) -> None:
    await desktop.sign_in(marketplace.secret)
    response = await desktop.page.goto(desktop.url("/dashboard/"))
    assert response is not None
    headers = await response.all_headers()
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    # htmx loaded and configured: it would log a violation for its inline styles otherwise.
    await expect(desktop.page.locator("html")).to_have_attribute("data-live", "open")
    assert await desktop.page.evaluate("typeof window.htmx") == "object"
    assert desktop.csp_violations == []


async def test_a_hostile_marketplace_name_renders_as_text(
    desktop: Watched, pipeline: Pipeline
) -> None:
    for name in HOSTILE_NAMES:
        key = await pipeline.api.post("/api_keys")
        secret = key.body["api_keys"][0]["secret"]
        created = await pipeline.api.as_key(secret).post("/marketplaces", {"name": name})
        assert created.status == 201, created.body
        await desktop.context.clear_cookies()
        await desktop.sign_in(secret)
        await expect(desktop.page.locator(".marketplace")).to_have_text(name)
        assert await desktop.page.locator("header img, header script").count() == 0
        await expect(desktop.page).to_have_title(f"Overview · {name} · ballast")
    assert desktop.dialogs == []


async def test_the_overview_shows_a_funded_orders_money(
    desktop: Watched, marketplace: Marketplace
) -> None:
    await flows.funded_order(marketplace.api, 12_345)
    await desktop.sign_in(marketplace.secret)
    await expect(desktop.page.locator("#card-escrow .figure")).to_have_text("$123.45")
    await expect(desktop.page.locator("#card-escrow .sub")).to_have_text("in 1 order")
    await expect(desktop.page.locator("#card-today .figure")).to_have_text("$123.45")
    await expect(desktop.page.locator("#card-today .sub")).to_contain_text("1 debit")
    await expect(desktop.page.locator("rect.chart-volume")).to_have_count(1)
    if screenshots_wanted():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await desktop.page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)


async def test_the_overview_updates_live_when_an_order_is_funded(
    desktop: Watched, marketplace: Marketplace
) -> None:
    await desktop.sign_in(marketplace.secret)
    await expect(desktop.page.locator("html")).to_have_attribute("data-live", "open")
    await expect(desktop.page.locator("#card-escrow .figure")).to_have_text("$0.00")
    await flows.funded_order(marketplace.api, 5_000)
    await expect(desktop.page.locator("#card-escrow .figure")).to_have_text("$50.00")


async def test_the_overview_fits_a_phone_without_sideways_scrolling(
    phone: Watched, marketplace: Marketplace
) -> None:
    await flows.funded_order(marketplace.api, 12_345)
    await phone.sign_in(marketplace.secret)
    overflow = await phone.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    await expect(phone.page.get_by_role("link", name="API keys")).to_be_in_viewport()
