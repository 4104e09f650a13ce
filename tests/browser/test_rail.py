"""The Rail page in a real browser: acting on an entry (a return that fails the credit and
restores the order's escrow), the clock, the rules editor, and the NACHA files. The rail
is shared by the whole test session: what a test changes (the clock, the rules) it puts
back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.browser.test_dashboard_shell import SCREENSHOTS, screenshots_wanted
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually


async def _rail(pipeline: Pipeline, method: str, path: str, body: object = None) -> object:
    async with pipeline.http.request(
        method, pipeline.rail_url + path, json=body, headers=pipeline.rail_control_headers
    ) as response:
        assert response.status == 200, await response.text()
        return await response.json()


@pytest.fixture
async def rail_restored(pipeline: Pipeline) -> AsyncIterator[None]:
    """The rail's rules and running clock as they were, whatever the test did."""
    rules = await _rail(pipeline, "GET", "/rules")
    yield
    await _rail(pipeline, "PUT", "/clock", {"frozen": False})
    await _rail(pipeline, "PUT", "/rules", rules)


async def test_returning_a_pending_credit_from_the_rail_page_fails_it_and_restores_the_escrow(
    desktop: Watched, marketplace: Marketplace, pipeline: Pipeline
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 5000, account_number=flows.ACCOUNT_STAYS_PENDING)
    credit = await flows.credit_order(api, funded, 3000)
    assert await flows.escrowed(api, funded.order_id) == 2000
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/rail")
    await page.get_by_role("link", name=f"Pick {credit['id']}").click()
    # The worker submits the entry a moment after the credit: reload until the rail has it.
    entry_state = page.locator("#picked-entry")

    async def submitted() -> bool:
        await page.reload()
        return "not submitted yet" not in await entry_state.inner_text()

    await eventually(submitted)
    form = page.locator("#simulate-return")
    await form.get_by_label("Return reason (R code)").select_option("R03")
    await form.get_by_label("Yes, return $30.00").check()
    await form.get_by_role("button", name="Return $30.00").click()
    await expect(page.locator("#simulate-return [role=status]")).to_contain_text(
        "Returned with R03"
    )
    # Live: the transfer's badge turns failed without a reload.
    await expect(entry_state.locator(".badge-failed")).to_be_visible()
    await page.goto(desktop.url(f"/dashboard/events?type=credit.failed&entity={credit['id']}"))
    await expect(page.locator("#event-log tbody tr")).to_have_count(1)
    await expect(page.locator("#event-log")).to_contain_text("credit.failed")
    assert await flows.escrowed(api, funded.order_id) == 5000
    if screenshots_wanted():
        await page.goto(desktop.url(f"/dashboard/rail?entry={credit['id']}"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "rail.png"), full_page=True)


async def test_freezing_and_advancing_the_clock_changes_what_the_page_shows(
    desktop: Watched, marketplace: Marketplace, rail_restored: None
) -> None:
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/rail")
    await page.get_by_role("button", name="Freeze the clock").click()
    clock = page.locator("#rail-clock")
    await expect(clock.locator(".badge-frozen")).to_be_visible()
    before = await page.locator("#clock-now").inner_text()
    await page.get_by_label("Advance by").fill("2")
    await page.get_by_role("button", name="Advance the clock").click()
    await expect(page.get_by_role("status")).to_have_text("Advanced 2 banking days.")
    await expect(page.locator("#clock-now")).not_to_have_text(before)
    await page.get_by_role("button", name="Resume the clock").click()
    await expect(clock.locator(".badge-running")).to_be_visible()


async def test_a_rule_with_a_bad_value_is_refused_with_the_rails_reason(
    desktop: Watched, marketplace: Marketplace, pipeline: Pipeline, rail_restored: None
) -> None:
    rules_before = await _rail(pipeline, "GET", "/rules")
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/rail")
    bad = [{"action": "return", "code": "R99"}]
    await page.get_by_label("Rules (JSON list)").fill(json.dumps(bad))
    await page.get_by_role("button", name="Save the rules").click()
    await expect(page.locator("#rules-error")).to_contain_text("needs a known R code")
    # The text stays for fixing, and the rail kept its rules.
    await expect(page.get_by_label("Rules (JSON list)")).to_have_value(json.dumps(bad))
    assert await _rail(pipeline, "GET", "/rules") == rules_before


async def test_a_nacha_file_is_listed_and_its_parsed_view_shows_the_entries(
    desktop: Watched, marketplace: Marketplace
) -> None:
    api = marketplace.api
    funded = await flows.funded_order(api, 4000)
    credit = await flows.credit_order(api, funded, 1234)
    await flows.credit_status(api, credit["id"], "succeeded")
    await desktop.sign_in(marketplace.secret)
    page = desktop.page
    # The entry's identification field holds the first 15 characters of its id, in
    # capitals (NACHA alphanumerics); files go out at most once a second in instant mode.
    identification = credit["id"][:15].upper()

    async def file_with_the_credit() -> str | None:
        await page.goto(desktop.url("/dashboard/rail/files"))
        links = page.locator("#nacha-files tbody tr td:first-child a")
        for href in [await link.get_attribute("href") for link in await links.all()]:
            assert href is not None
            await page.goto(desktop.url(href))
            if identification in await page.locator("main").inner_text():
                return href
        return None

    await eventually(file_with_the_credit)
    row = page.locator(".nacha-entries tbody tr", has_text=identification)
    await expect(row).to_contain_text("+$12.34")
    await expect(row).to_contain_text("checking credit")
    await expect(page.get_by_role("link", name="Download the file")).to_be_visible()
