"""Events and callbacks in a real browser: redelivering an event (the receiver gets it
again, signed), rotating a secret (shown once), and hostile strings from a receiver or in
an event's meta rendered as text."""

from __future__ import annotations

import re

from aiohttp import web
from playwright.async_api import expect
from standardwebhooks.webhooks import Webhook

from tests.browser.conftest import Watched
from tests.browser.test_dashboard_shell import HOSTILE_NAMES, SCREENSHOTS, screenshots_wanted
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Pipeline, eventually
from tests.support.receiver import Receiver

HOSTILE = " ".join(HOSTILE_NAMES)


async def test_redelivering_an_event_sends_it_again_signed_and_logs_a_new_attempt(
    desktop: Watched, marketplace: Marketplace, pipeline: Pipeline
) -> None:
    receiver = Receiver()
    callback = await flows.subscribe(pipeline, marketplace.api, receiver)
    funded = await flows.funded_order(marketplace.api, 2500)
    first = await receiver.wait_for("debit.succeeded", funded.debit_id)
    event_id = first.event["id"]
    page = await desktop.signed_in_at(marketplace.secret, "/dashboard/callbacks")
    await expect(page.locator("#callbacks .badge-enabled")).to_be_visible()
    await page.get_by_role("link", name=f"Callback {callback['url']}").click()
    await page.get_by_label("Redeliver one event").fill(event_id)
    await page.get_by_role("button", name="Redeliver event").click()
    await expect(page.get_by_role("status")).to_have_text("Queued 1 event for redelivery.")

    def again() -> bool:
        return sum(d.headers.get("webhook-id") == event_id for d in receiver.deliveries) == 2

    await receiver.wait_until(again)
    resent = [d for d in receiver.deliveries if d.headers.get("webhook-id") == event_id][-1]
    Webhook(callback["secret"]).verify(resent.body, resent.headers)  # Raises if forged.
    # A redelivery is no new event (the live stream has nothing to report): the attempt
    # shows on the next load of the page, once the worker has logged it.
    row = page.locator("#callback-deliveries tbody tr", has=page.locator(f"a[href$='{event_id}']"))

    async def logged() -> bool:
        await page.goto(desktop.url(f"/dashboard/callbacks/{callback['id']}"))
        return await row.locator(".attempts li").count() == 2

    await eventually(logged)
    if screenshots_wanted():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "callbacks.png"), full_page=True)


async def test_rotating_the_secret_shows_the_new_one_once(
    desktop: Watched, marketplace: Marketplace, pipeline: Pipeline
) -> None:
    callback = await flows.subscribe(pipeline, marketplace.api, Receiver())
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/callbacks/{callback['id']}")
    await page.get_by_label("Rotate the signing secret").fill("5")
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Rotate secret").click()
    assert (await answer.value).headers["cache-control"] == "no-store"
    secret = page.locator("#new-secret")
    await expect(secret).to_have_text(re.compile(r"^whsec_\S+$"))
    new_secret = (await secret.inner_text()).strip()
    assert new_secret.startswith("whsec_") and new_secret != callback["secret"]
    await expect(page.get_by_role("status")).to_contain_text("for 5 minutes")
    await page.goto(desktop.url(f"/dashboard/callbacks/{callback['id']}"))
    await expect(page.locator("#new-secret")).to_have_count(0)
    assert new_secret not in await page.content()


async def test_hostile_strings_in_a_response_excerpt_and_in_event_meta_render_as_text(
    desktop: Watched, marketplace: Marketplace, pipeline: Pipeline
) -> None:
    async def hostile_receiver(request: web.Request) -> web.Response:
        return web.Response(status=200, text=HOSTILE, content_type="text/html")

    app = web.Application()
    app.router.add_post("/hooks", hostile_receiver)
    server = await pipeline.serve(app)
    callback = await flows.created(
        await marketplace.api.post("/callbacks", {"url": str(server.make_url("/hooks"))}),
        "callbacks",
    )
    customer = await flows.created(
        await marketplace.api.post("/customers", {"name": HOSTILE, "meta": {"note": HOSTILE}}),
        "customers",
    )
    page = await desktop.signed_in_at(marketplace.secret, f"/dashboard/callbacks/{callback['id']}")
    await expect(page.locator("pre.excerpt").first).to_have_text(HOSTILE)
    await page.goto(desktop.url(f"/dashboard/events?entity={customer['id']}"))
    await page.locator("#event-log tbody tr a[href*='/events/']").first.click()
    await expect(page.locator("#event-body")).to_contain_text(HOSTILE_NAMES[0])
    await expect(page.locator("#event-body")).to_contain_text(HOSTILE_NAMES[1])
    assert await page.locator("main img, main script").count() == 0
    assert desktop.dialogs == []
