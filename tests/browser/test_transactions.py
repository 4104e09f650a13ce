"""The Transactions page in a real browser: filtering every transfer of the marketplace,
and exporting the filtered list as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard_shell import SCREENSHOTS, screenshots_wanted
from tests.conftest import Marketplace
from tests.support import flows


async def test_filtering_by_kind_shows_only_transfers_of_that_kind(
    desktop: Watched, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 5000)
    await flows.credit_order(api, funded, 1200)
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/transactions")
    rows = page.locator("#transactions tbody tr")
    await expect(rows).to_have_count(2)
    await page.get_by_label("Kind").select_option("credit")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-kind", "credit")
    await expect(rows.first).to_contain_text("$12.00")
    if screenshots_wanted():
        await page.goto(desktop.url("/dashboard/transactions"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "transactions.png"), full_page=True)


async def test_the_csv_export_downloads_the_filtered_transfers_in_cents_and_dollars(
    desktop: Watched, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 5000)
    # A description a spreadsheet would run as a formula stays text: a `'` before it.
    formula = '=HYPERLINK("http://evil.example","click")'
    credit = await flows.created(
        await api.post(
            f"/bank_accounts/{funded.bank_account_id}/credits",
            {"amount": 1234, "order": funded.order_id, "description": formula},
        ),
        "credits",
    )
    await desktop.sign_in(marketplace.secret)
    page = desktop.page
    # Amounts typed in dollars narrow the list to the credit (cents in the query).
    await page.goto(desktop.url("/dashboard/transactions?min=10&max=20"))
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Export CSV").click()
    download = await downloading.value
    path = await download.path()
    text = await asyncio.to_thread(Path(path).read_text, "utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["id"], row["amount_cents"], row["amount_dollars"]) for row in rows] == [
        (credit["id"], "1234", "12.34")
    ]
    assert rows[0]["description"] == "'" + formula
    assert download.suggested_filename.startswith("transactions-")
