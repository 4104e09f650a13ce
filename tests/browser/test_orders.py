"""The Orders pages in a real browser: searching the list, a refused payout showing the
API's own error text, hostile strings as text, and an action without its CSRF token."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard_shell import HOSTILE_NAMES
from tests.conftest import Marketplace
from tests.support import flows

HOSTILE = " ".join(HOSTILE_NAMES)


async def confirm_payout(page: Page, dollars: str) -> Locator:
    """Ask the order page's payout form for `dollars` and tick its confirmation; the form."""
    await page.get_by_label("Amount to pay out (dollars)").fill(dollars)
    await page.get_by_role("button", name="Change the amount").click()
    payout = page.locator("#payout")
    await payout.get_by_label(f"Yes, pay out ${float(dollars):.2f}").check()
    return payout


async def test_searching_orders_by_description_finds_the_order_with_its_escrow(
    desktop: Watched, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 4200)
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/orders")
    await page.get_by_label("Search orders").fill("order #1")
    await page.get_by_role("button", name="Search").click()
    row = page.locator("#orders tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("$42.00")
    await row.get_by_role("link", name=f"Order {funded.order_id}").click()
    await expect(page.locator("#order-escrow")).to_have_text("$42.00")


async def test_a_payout_above_the_escrow_shows_the_apis_error_and_moves_nothing(
    desktop: Watched, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 5000)
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{funded.order_id}")
    payout = await confirm_payout(page, "80")
    await payout.get_by_role("button", name="Pay out $80.00").click()
    await expect(payout.get_by_role("alert")).to_have_text(
        f"Order {funded.order_id} has insufficient funds to cover a transfer of 8000."
    )
    await expect(page.locator("#order-escrow")).to_have_text("$50.00")
    assert await flows.escrowed(marketplace.api, funded.order_id) == 5000


async def test_hostile_merchant_name_and_order_meta_render_as_text_on_the_order_page(
    desktop: Watched, marketplace: Marketplace
) -> None:
    api = marketplace.api
    merchant = await flows.created(
        await api.post("/customers", {"name": HOSTILE, "meta": {"note": HOSTILE}}), "customers"
    )
    order = await flows.created(
        await api.post(
            f"/customers/{merchant['id']}/orders",
            {"description": HOSTILE, "meta": {"note": HOSTILE}},
        ),
        "orders",
    )
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{order['id']}")
    await expect(page.locator("#order-merchant")).to_have_text(HOSTILE)
    await expect(page.locator("#order-description")).to_have_text(HOSTILE)
    await expect(page.locator("#order-meta")).to_have_text(f"note = {HOSTILE}")
    await page.goto(desktop.url("/dashboard/orders"))
    await expect(page.locator("#orders")).to_contain_text(HOSTILE)
    assert desktop.dialogs == []
    assert await page.locator("img[src=x]").count() == 0


async def test_a_payout_posted_without_the_csrf_token_is_refused_and_moves_nothing(
    desktop: Watched, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 5000)
    await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{funded.order_id}")
    # The page's own origin and cookie, a complete form, only the token left out.
    status = await desktop.page.evaluate(
        """async ([orderId, bankAccountId]) => (await fetch(
               `/dashboard/orders/${orderId}/payouts`,
               {method: "POST", body: new URLSearchParams({
                   bank_account_id: bankAccountId, amount_cents: "5000", confirm: "yes"})})
           ).status""",
        [funded.order_id, funded.bank_account_id],
    )
    assert status == 403
    assert await flows.escrowed(marketplace.api, funded.order_id) == 5000


async def test_paying_the_marketplace_owner_out_credits_the_owners_bank_account(
    desktop: Watched, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 5000)
    owned = await api.get(f"/customers/{marketplace.owner_customer_id}/bank_accounts")
    owner_account_id = owned.body["bank_accounts"][0]["id"]
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{funded.order_id}")
    await expect(page.get_by_label("Destination")).to_contain_text("Merchant — Ada Lovelace ••0002")
    await page.get_by_label("Destination").select_option(
        label="Marketplace owner — Test Marketplace ••0002"
    )
    await page.get_by_label("Amount to pay out (dollars)").fill("10")
    await page.get_by_role("button", name="Change the amount").click()
    payout = page.locator("#payout")
    await expect(payout).to_contain_text("To Marketplace owner — Test Marketplace ••0002")
    await payout.get_by_label("Yes, pay out $10.00").check()
    await payout.get_by_role("button", name="Pay out $10.00").click()
    await expect(payout.get_by_role("status")).to_contain_text("Paid out $10.00")
    credit = page.locator("#order-timeline tr[data-kind=credit]")
    await expect(credit).to_contain_text(owner_account_id)
    await expect(page.locator("#order-escrow")).to_have_text("$40.00")
    assert await flows.escrowed(api, funded.order_id) == 4000


async def test_the_escrow_chart_steps_up_with_the_debit_and_down_with_the_payout(
    desktop: Watched, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 5000)
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{funded.order_id}")
    chart = page.locator("#order-escrow-chart")
    points = chart.locator("circle.chart-point")
    await expect(points).to_have_count(1)
    await expect(chart.get_by_role("img")).to_have_accessible_name(
        "The order's escrow over 1 posting: at most $50.00, now $50.00."
    )
    payout = await confirm_payout(page, "20")
    await payout.get_by_role("button", name="Pay out $20.00").click()
    # Live: the chart redraws itself when the credit's event arrives.
    await expect(points).to_have_count(2)
    await expect(points.nth(0)).to_have_attribute("data-balance-cents", "5000")
    await expect(points.nth(1)).to_have_attribute("data-balance-cents", "3000")
    await expect(points.nth(0).locator("title")).to_contain_text(
        f"debit {funded.debit_id}: +$50.00, escrow $50.00"
    )
    await expect(points.nth(1).locator("title")).to_contain_text(
        re.compile(r"credit CR\w+: \u2212\$20\.00, escrow \$30\.00")
    )
    await expect(chart.locator("text.chart-label").first).to_have_text("$50.00")
    assert desktop.csp_violations == []


async def test_the_same_payout_form_submitted_twice_pays_out_once(
    desktop: Watched, marketplace: Marketplace
) -> None:
    funded = await flows.funded_order(marketplace.api, 5000)
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{funded.order_id}")
    payout = await confirm_payout(page, "20")
    # Everything the browser is about to post: the CSRF token and the form's nonce too.
    fields = await payout.evaluate("form => Object.fromEntries(new FormData(form))")
    assert fields["form_nonce"]
    await payout.get_by_role("button", name="Pay out $20.00").click()
    await expect(payout.get_by_role("status")).to_have_text(
        re.compile(r"Paid out \$20\.00: credit CR\w+ is pending\.")
    )
    # Nothing re-armed beside the message: paying again takes asking for a new form.
    await expect(payout.get_by_role("checkbox")).to_have_count(0)

    replay = await page.request.post(
        desktop.url(f"/dashboard/orders/{funded.order_id}/payouts"),
        form=fields,
        headers={"HX-Request": "true"},
    )
    assert replay.status == 200
    assert "Already done: Paid out $20.00" in await replay.text()
    assert await flows.escrowed(marketplace.api, funded.order_id) == 3000
    await expect(page.locator("#order-timeline tr[data-kind=credit]")).to_have_count(1)

    await payout.get_by_role("link", name="Pay out again").click()
    await expect(payout.get_by_role("button", name="Pay out $30.00")).to_be_visible()


async def test_a_partial_reversal_leaves_the_rest_reversible(
    desktop: Watched, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 5000)
    credit = await flows.credit_order(api, funded, 2000)
    await flows.credit_status(api, credit["id"], "succeeded")
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/orders/{funded.order_id}")
    row = page.locator(f"#transfer-{credit['id']}")
    await row.get_by_label("Amount ($)").fill("5")
    await row.get_by_role("button", name="Change").click()
    reverse = page.locator(f"#reverse-{credit['id']}")
    await reverse.get_by_label("Yes, reverse $5.00").check()
    await reverse.get_by_role("button", name="Reverse $5.00").click()
    await expect(page.locator("#order-timeline tr[data-kind=reversal]")).to_contain_text("+$5.00")
    reversals = (await api.get(f"/credits/{credit['id']}/reversals")).body["reversals"]
    assert [reversal["amount"] for reversal in reversals] == [500]
    await page.reload()
    await expect(page.locator(f"#reverse-{credit['id']}")).to_contain_text("Reverse $15.00")
