"""The Customers pages in a real browser: hostile names and meta as text, and settling a
payable account's balance to a bank account."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard_shell import HOSTILE_NAMES
from tests.conftest import Marketplace
from tests.support import flows

HOSTILE = " ".join(HOSTILE_NAMES)


async def test_hostile_customer_name_and_meta_render_as_text_on_the_customers_pages(
    desktop: Watched, marketplace: Marketplace
) -> None:
    customer = await flows.created(
        await marketplace.api.post(
            "/customers",
            {"name": HOSTILE, "email": "mallory@example.com", "meta": {"note": HOSTILE}},
        ),
        "customers",
    )
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/customers")
    await page.get_by_label("Search customers").fill("mallory@")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#customers tbody tr")).to_have_count(1)
    await page.get_by_role("link", name=HOSTILE).click()
    await expect(page.locator("#customer-name")).to_have_text(HOSTILE)
    await expect(page.locator("#customer-meta")).to_have_text(f"note = {HOSTILE}")
    await expect(page.locator("#customer-facts")).to_contain_text(customer["id"])
    assert desktop.dialogs == []
    assert await page.locator("img[src=x]").count() == 0


async def test_settling_a_payable_account_to_a_bank_account_zeroes_its_balance(
    desktop: Watched, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 3000)
    listed = await api.get(f"/customers/{funded.merchant_id}/accounts")
    account: dict[str, Any] = listed.body["accounts"][0]
    await flows.created(
        await api.post(
            f"/accounts/{account['id']}/credits", {"amount": 2500, "order": funded.order_id}
        ),
        "credits",
    )
    page = await desktop.signed_in_at(
        marketplace.secret, f"/dashboard/customers/{funded.merchant_id}"
    )
    await expect(page.locator("#account-balance")).to_have_text("+$25.00")
    settle = page.locator("#settle")
    await settle.get_by_label("Pay the balance out to").select_option(funded.bank_account_id)
    await settle.get_by_label("Yes, settle $25.00").check()
    await settle.get_by_role("button", name="Settle $25.00").click()
    await expect(settle.get_by_role("status")).to_contain_text("of $25.00 is pending")
    balance: int = (await api.get(f"/accounts/{account['id']}")).body["accounts"][0]["balance"]
    assert balance == 0
    await page.reload()
    await expect(page.locator("#account-balance")).to_have_text("$0.00")
    await expect(page.locator("#settlements tbody tr")).to_have_count(1)
