"""The API reference (/docs) in a real browser: Swagger UI served from the package."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.support.pipeline import Pipeline


async def test_docs_renders_in_a_browser_with_no_csp_violation(
    browser: Browser, pipeline: Pipeline
) -> None:
    """Swagger UI shows every tag and an operation's recorded example, under the page's
    Content-Security-Policy, asking nothing of any other origin."""
    document = (await pipeline.api.get("/openapi.json")).body
    page = await browser.new_page()
    try:
        messages: list[str] = []
        page.on("console", lambda message: messages.append(message.text))
        origins: set[str] = set()
        page.on("request", lambda request: origins.add(request.url.split("/")[2]))
        await page.goto(pipeline.api.base_url + "/docs")
        await page.wait_for_selector(".opblock-tag-section")
        assert await page.locator(".opblock-tag-section").count() == len(document["tags"])
        await page.locator("h3.opblock-tag", has_text="Orders").first.click()
        await page.locator(".opblock-summary", has_text="/orders/{id}").first.click()
        opened = page.locator(".opblock.is-open").first
        await opened.locator(".example").first.wait_for()
        assert "amount_escrowed" in await opened.inner_text()
    finally:
        await page.close()
    assert not messages, messages  # A CSP violation or a failed load is logged here.
    assert origins == {pipeline.api.base_url.split("/")[2]}
