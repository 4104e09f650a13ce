"""The crowdfunding flow in a real browser, driven from the dashboard: a buyer's debit
funds an order (through the API), the operator pays the merchant out from the order's
page, watches the credit settle live, and reverses it back into the escrow."""

from __future__ import annotations

from playwright.async_api import Locator, expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard_shell import SCREENSHOTS, screenshots_wanted
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline


async def transfer_id(row: Locator) -> str:
    row_id = await row.get_attribute("id")
    assert row_id is not None and row_id.startswith("transfer-"), row_id
    return row_id.removeprefix("transfer-")


async def test_a_payout_settles_live_and_its_reversal_restores_the_escrow(
    desktop: Watched, marketplace: Marketplace, pipeline: Pipeline
) -> None:
    api = marketplace.api
    # The rail keeps this account's entries pending until told: every step is seen.
    funded = await flows.funded_order(api, 5000, account_number=flows.ACCOUNT_STAYS_PENDING)
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{funded.order_id}")
    await expect(page.locator("html")).to_have_attribute("data-live", "open")
    escrow = page.locator("#order-escrow")
    await expect(escrow).to_have_text("$50.00")

    payout = page.locator("#payout")
    await payout.get_by_label("Yes, pay out $50.00").check()
    await payout.get_by_role("button", name="Pay out $50.00").click()
    await expect(payout.get_by_role("status")).to_contain_text("Paid out $50.00")
    credit = page.locator("#order-timeline tr[data-kind=credit]")
    await expect(credit.locator(".badge-pending")).to_be_visible()
    await expect(credit).to_contain_text("\N{MINUS SIGN}$50.00")
    await expect(escrow).to_have_text("$0.00")

    credit_id = await transfer_id(credit)
    await flows.simulate(pipeline, credit_id, "settle")
    # Live: the badge turns succeeded without a reload.
    await expect(credit.locator(".badge-succeeded")).to_be_visible()

    reverse = page.locator(f"#reverse-{credit_id}")
    await reverse.get_by_label("Yes, reverse $50.00").check()
    await reverse.get_by_role("button", name="Reverse $50.00").click()
    reversal = page.locator("#order-timeline tr[data-kind=reversal]")
    await expect(reversal).to_contain_text("+$50.00")
    await expect(reversal).to_contain_text(credit_id)
    await flows.simulate(pipeline, await transfer_id(reversal), "settle")
    await expect(reversal.locator(".badge-succeeded")).to_be_visible()
    await expect(escrow).to_have_text("$50.00")
    assert await flows.escrowed(api, funded.order_id) == 5000
    assert desktop.csp_violations == []
    if screenshots_wanted():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "order.png"), full_page=True)
