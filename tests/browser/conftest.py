"""Browser tests: Playwright (async API) driving Debian's chromium, headless, against the
pipeline's API (tests/conftest.py). Playwright's own browser download cannot be reached
from the project's machines, so the system's chromium is launched by its path:
`BALLAST_CHROMIUM`, or /usr/bin/chromium (`python3 dev.py test` installs it). These tests
are never skipped: without a browser they fail, saying what to install."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
)

from tests.support.pipeline import Pipeline

CHROMIUM_DEFAULT = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # Required as root; the tests load only our own pages.
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Playwright's waits (a click, an expectation) give up after this; pages answer in ms.
TIMEOUT_MS = 15_000


def chromium_path() -> str:
    path = os.environ.get("BALLAST_CHROMIUM") or CHROMIUM_DEFAULT
    if not Path(path).exists():
        pytest.fail(
            f"no chromium at {path}: install Debian's (apt-get install -y chromium) or set "
            "BALLAST_CHROMIUM to a Chromium binary; `python3 dev.py test` installs it as root",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@dataclass
class Watched:
    """A page with what it logged and every dialog it opened (each dismissed at once)."""

    page: Page
    context: BrowserContext
    base_url: str
    console: list[ConsoleMessage] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def csp_violations(self) -> list[str]:
        return [m.text for m in self.console if "Content Security Policy" in m.text]

    async def sign_in(self, secret: str) -> None:
        await self.page.goto(self.url("/dashboard/sign-in"))
        await self.page.get_by_label("API key secret").fill(secret)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.wait_for_url(self.url("/dashboard/"))

    async def signed_in_at(self, secret: str, path: str) -> Page:
        """Sign in with `secret`, then open the dashboard page at `path`."""
        await self.sign_in(secret)
        await self.page.goto(self.url(path))
        return self.page


async def _watched(browser: Browser, pipeline: Pipeline, viewport: dict[str, int]) -> Watched:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    watched = Watched(page, context, pipeline.api.base_url)

    def log(message: ConsoleMessage) -> None:
        watched.console.append(message)

    page.on("console", log)

    async def dismiss(dialog: Dialog) -> None:
        watched.dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    return watched


@pytest.fixture
async def desktop(browser: Browser, pipeline: Pipeline) -> AsyncIterator[Watched]:
    """A fresh browser profile (no cookies) at 1280 by 800 pixels."""
    watched = await _watched(browser, pipeline, DESKTOP)
    yield watched
    await watched.context.close()


@pytest.fixture
async def phone(browser: Browser, pipeline: Pipeline) -> AsyncIterator[Watched]:
    """A fresh browser profile at a phone's 390 px width."""
    watched = await _watched(browser, pipeline, PHONE)
    yield watched
    await watched.context.close()
