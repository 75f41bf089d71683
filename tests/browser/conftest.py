"""Playwright driving Debian's Chromium against pytest-django's live server.

Playwright's own browser download does not work here, so the tests launch
/usr/bin/chromium (`make test` installs it when missing). Screenshots go to
test-artifacts/screenshots/ for the README and for CI artifacts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _WhiteNoiseLiveServer(LiveServer):
    """pytest-django's live server without its finder-based static handler.

    That handler answers /static/ from the finders, which know no hashed
    names; the real WSGI stack (whitenoise over the collected, manifest-named
    files) is what production serves, so the browser sees exactly that.
    """

    def __init__(self, addr: str) -> None:
        super().__init__(addr, start=False)
        self.thread.static_handler = _passthrough
        self.start()


def _passthrough(application):
    return application


@pytest.fixture(scope="session")
def live_server(_collected_static):
    server = _WhiteNoiseLiveServer("localhost")
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed when they are done.

    Package scope, not session: Playwright's sync API keeps an event loop
    running in this thread until it stops, and later tests call asyncio.run.
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the tests make between page actions are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, live_server, email: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/")
