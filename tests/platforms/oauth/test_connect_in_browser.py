"""A real browser connects a TikTok account: Connections page, sandbox
consent page, back to Connections, with nothing but loopback HTTP."""

from __future__ import annotations

import os

import pytest

from platforms.models import CollectionRun, ConnectedAccount
from tests.browser.conftest import (  # noqa: F401 - live_server is a fixture
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    live_server,
    log_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def page():
    """Chromium for this module only: Playwright's sync API keeps an event
    loop running in this thread until it stops, and later tests need none."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            yield context.new_page()
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_a_creator_connects_tiktok_in_the_browser(
    page,
    live_server,  # noqa: F811
    creator,
    sandbox,
):
    log_in(page, live_server, "creator@example.com", "pw-creator-1")
    page.goto(f"{live_server.url}/connections/")
    page.get_by_role("button", name="Connect TikTok").click()

    page.wait_for_url("**/tiktok-www/v2/auth/authorize/**")
    second = sandbox.world.accounts("tiktok")[1]
    page.get_by_label(second.display_name, exact=False).check()
    page.get_by_role("button", name="Approve").click()

    page.wait_for_url(f"{live_server.url}/connections/")
    account = ConnectedAccount.objects.get()
    assert account.handle == f"@{second.handle}"
    assert page.get_by_text(account.handle, exact=True).count() == 1
    assert page.locator("progress").count() == 1
    run = CollectionRun.objects.get(account=account)
    assert run.task_id  # queued on django-q2 after the commit
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "connections.png"), full_page=True)

    page.get_by_role("button", name=f"Disconnect {account}").click()
    page.wait_for_url(f"{live_server.url}/connections/")
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.DISCONNECTED
