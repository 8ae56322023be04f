"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright at a phone viewport."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("SHOPPER_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 640}


@pytest.fixture
def live_server(app, world):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="en-US"
    )
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """Saved only when SHOPPER_SCREENSHOTS names a folder (for looking at the screens)."""
    folder = os.environ.get("SHOPPER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def ready(page) -> None:
    """The fill page shows the server's state merged with the outbox (read asynchronously)."""
    page.locator("#inspection[data-ready]").wait_for(timeout=20000)


def until(page, expression: str, timeout: float = 30000, every: float = 100) -> None:
    """Wait until `expression` (JavaScript, may be an async function) is true, asking from
    outside the page: Playwright's wait_for_function polls with eval() inside it, which the
    app's CSP forbids whenever the first answer is not already true."""
    for _ in range(int(timeout / every)):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(every)
    raise AssertionError(f"still not true after {timeout} ms: {expression}")


def saved(page) -> None:
    """Every queued change has reached the server (a tap's write is queued asynchronously)."""
    page.wait_for_timeout(150)
    until(page, "async () => (await ShopperQueue.all()).every((w) => w.state !== 'pending')")
    page.locator("#save-state.saved").wait_for(timeout=20000)
