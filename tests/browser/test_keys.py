"""API keys in a real browser: a new key's secret is shown once, never in the list, and a
key is revoked from its row."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.conftest import Marketplace


async def test_creating_a_key_shows_its_secret_once_and_the_list_never_shows_it(
    desktop: Watched, marketplace: Marketplace
) -> None:
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/api-keys")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Create an API key").click()
    assert (await answer.value).headers["cache-control"] == "no-store"
    secret = (await page.locator("#new-key-secret").inner_text()).strip()
    assert secret.startswith("ak-")
    assert secret not in await page.locator("#api-keys").inner_text()
    await expect(page.locator("#api-keys tbody tr")).to_have_count(2)
    # The new secret signs in to the API.
    assert (await marketplace.api.as_key(secret).get("/api_keys")).status == 200
    await page.goto(desktop.url("/dashboard/api-keys"))
    await expect(page.locator("#new-key-secret")).to_have_count(0)
    assert secret not in await page.content()
    assert marketplace.secret not in await page.content()


async def test_revoking_a_key_marks_it_revoked_and_the_api_refuses_it(
    desktop: Watched, marketplace: Marketplace
) -> None:
    created = await marketplace.api.post("/api_keys")
    assert created.status == 201, created.body
    key = created.body["api_keys"][0]
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/api-keys")
    row = page.locator(f"#key-{key['id']}")
    await row.get_by_label(f"Yes, revoke {key['id']}").check()
    await row.get_by_role("button", name=f"Revoke {key['id']}").click()
    await expect(row.locator(".badge-revoked")).to_be_visible()
    assert (await marketplace.api.as_key(key["secret"]).get("/api_keys")).status == 401
