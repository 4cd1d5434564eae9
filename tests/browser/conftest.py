"""A real headless Chromium for the dashboard's tests, driven by Playwright.

The browser is Debian's ``chromium`` package at ``/usr/bin/chromium``
(``.ci/run`` installs it when missing); Playwright's own browser downloads
are never used. Screenshots go to ``test-artifacts/`` (or
``$EVENTJOBS_TEST_ARTIFACTS``), which git ignores.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = os.environ.get("EVENTJOBS_CHROMIUM", "/usr/bin/chromium")
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
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


# Per module, not per session: while Playwright's sync API is open, its
# asyncio loop counts as running, and tests elsewhere that call asyncio.run
# (python-arango-async's) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the dashboard's tests need Debian's chromium "
            "(apt-get install -y --no-install-recommends chromium; .ci/run does it), "
            "or EVENTJOBS_CHROMIUM naming another Chromium binary"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@attrs.define
class Console:
    """Everything the page logged, and the errors it raised."""

    messages: list[str] = attrs.Factory(list)
    errors: list[str] = attrs.Factory(list)

    def on_message(self, message: ConsoleMessage) -> None:
        entry = f"{message.type}: {message.text}"
        self.messages.append(entry)
        if message.type in ("error", "warning"):
            self.errors.append(entry)

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"page error: {error}")


@attrs.define
class Tab:
    page: Page
    console: Console


@pytest.fixture
def open_tab(browser: Browser) -> Iterator[Callable[..., Tab]]:
    """Opens pages in fresh browser contexts (own storage), closed at the end."""
    contexts = []

    def open_tab(viewport: dict[str, int] = LAPTOP) -> Tab:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        console = Console()
        page.on("console", lambda message: console.on_message(message))
        page.on("pageerror", lambda error: console.on_page_error(error))
        return Tab(page, console)

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    default = Path(__file__).parents[2] / "test-artifacts"
    directory = Path(os.environ.get("EVENTJOBS_TEST_ARTIFACTS", default))
    directory.mkdir(parents=True, exist_ok=True)
    return directory
