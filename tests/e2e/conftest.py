"""Browser tests: headless Chromium (Debian's) driven by Playwright, against the same running
product as the integration tests (in-process web app, real `inbox worker`, fake Graph API).

One browser for the whole session; every test opens its own contexts, so tests share no
cookies, storage or sockets.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import *  # noqa: F403 - web_url, worker, graph, admin, http, ...
from tests.integration.conftest import Api

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "s3cret-pass"  # what tests.integration.conftest.signup() gives every admin
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def chromium_present() -> bool:
    return Path(CHROMIUM).exists()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    if not chromium_present():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@dataclass
class Tab:
    """One logged-in browser page, with the page errors it produced."""

    page: Any
    context: Any
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        # Script errors and Content-Security-Policy refusals are bugs; failed fetches that
        # a page handles (e.g. a 404 it expects) are not.
        assert not self.errors, self.errors


@pytest.fixture
async def tabs(browser: Any) -> AsyncIterator[Any]:
    """`await tabs(api, "/inbox", viewport=PHONE)`: a page logged in as `api`'s user."""
    opened: list[Tab] = []

    async def open_tab(
        api: Api | None, path: str = "/inbox", viewport: dict[str, int] | None = None
    ) -> Tab:
        context = await browser.new_context(viewport=viewport or LAPTOP)
        page = await context.new_page()
        page.set_default_timeout(20_000)
        tab = Tab(page, context)
        page.on("pageerror", lambda exc: tab.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                tab.errors.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        opened.append(tab)
        base = api.base if api else ""
        if api is not None:
            # Log in as the app does after /auth/login: the session lives in localStorage.
            await page.goto(f"{base}/login?next=/inbox")
            session = {
                "user": api.user,
                "accessToken": api.token,
                "refreshToken": api.refresh_token,
            }
            await page.evaluate(
                "s => localStorage.setItem('inbox.session', s)", json.dumps(session)
            )
            await page.goto(f"{base}{path}")
        return tab

    yield open_tab
    for tab in opened:
        await tab.context.close()
    for tab in opened:
        tab.assert_clean()


async def live(tab: Tab) -> None:
    """Wait until the page's websocket is connected."""
    from playwright.async_api import expect

    await expect(tab.page.locator("#conn-status")).to_have_attribute("data-state", "live")
