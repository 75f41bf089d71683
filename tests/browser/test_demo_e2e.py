"""What a new user does with `make demo`, in Chromium, end to end.

Starts `manage.py demo` exactly as `make demo` does (fresh DATA_DIR, free
ports), signs up, connects TikTok, YouTube and Instagram through the sandbox
consent pages, watches the backfills finish, sees charts from all three,
advances the sandbox clock, sees scheduled collection add points, and finds
an injected platform failure in the staff error log. Screenshots go to
test-artifacts/screenshots/demo-*.png.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.multiprocess]

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE = 120
BACKFILL_DEADLINE = 240
SCHEDULE_DEADLINE = 180
EMAIL, PASSWORD = "new.creator@example.com", "a-long-demo-passphrase-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _until(predicate, what: str, deadline_seconds: float, proc=None, log=None):
    deadline = time.monotonic() + deadline_seconds
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"demo exited before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:] if log else ""
            pytest.fail(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.5)


@pytest.fixture
def demo(tmp_path):
    """`manage.py demo` on free ports; stopped with Ctrl-C (SIGINT) afterwards."""
    port, sandbox_port = _free_port(), _free_port()
    log = tmp_path / "demo.log"
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        # Collect again quickly once the clock moves (the demo default is 60 s).
        "COLLECTION_MIN_INTERVAL_SECONDS": "5",
        "Q_WORKERS": "2",
    }
    for name in (
        "DJANGO_SETTINGS_MODULE",
        "SECRET_KEY",
        "TOKEN_ENCRYPTION_KEYS",
        "SANDBOX",
        "LOG_DIR",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(name, None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "demo",
                "--port",
                str(port),
                "--sandbox-port",
                str(sandbox_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    site, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    try:
        _until(
            lambda: "is running at" in log.read_text(),
            "the demo to start",
            START_DEADLINE,
            proc,
            log,
        )
        yield {"site": site, "sandbox": sandbox, "log": log, "data": tmp_path / "data"}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"demo-{name}.png"), full_page=True)


def _connect(page, site: str, button: str, authorize_path: str) -> None:
    page.goto(f"{site}/connections/")
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"**{authorize_path}**")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{site}/connections/**")


def _csv_rows(page, url: str) -> list[list[str]]:
    response = page.request.get(url)
    assert response.ok, response.status
    return list(csv.reader(io.StringIO(response.text())))[1:]


def test_a_new_user_runs_the_demo_end_to_end(demo, browser):
    site, sandbox, log = demo["site"], demo["sandbox"], demo["log"]
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()

    # Sign up.
    page.goto(f"{site}/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{site}/")
    assert "No accounts connected yet" in page.content()
    _shot(page, "empty-overview")

    # Connect the three platforms through the sandbox consent pages.
    _connect(page, site, "Connect TikTok", "/tiktok-www/v2/auth/authorize/")
    _connect(page, site, "Connect YouTube", "/google-accounts/o/oauth2/v2/auth")
    _connect(page, site, "Connect Instagram (via Facebook)", "/dialog/oauth")
    _shot(page, "connections-backfilling")

    # The backfills finish: every run on the Connections page says so.
    def backfills_done() -> bool:
        page.goto(f"{site}/connections/")
        rows = page.locator("table tr", has_text="Backfill")
        finished = rows.filter(has_text="Succeeded").count()
        return rows.count() == 3 and finished == 3

    _until(backfills_done, "three finished backfills", BACKFILL_DEADLINE, log=log)
    _shot(page, "connections-done")

    # Charts with data from all three platforms.
    page.goto(f"{site}/?range=90d")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    for platform in ("TikTok", "YouTube", "Instagram"):
        assert page.get_by_role("heading", name=platform, exact=True).is_visible()
    followers = _csv_rows(page, f"{site}/?range=7d&csv=followers")
    assert {row[0].split(" · ")[0] for row in followers} == {
        "TikTok",
        "YouTube",
        "Instagram",
    }
    _shot(page, "overview")
    page.locator(".account-list a", has_text="YouTube").first.click()
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    _shot(page, "account")

    # Advance the sandbox clock a day: scheduled collection adds points.
    readings = f"{site}/?range=2d&granularity=reading&csv=views"
    before = _csv_rows(page, readings)
    httpx.post(
        f"{sandbox}/_sandbox/clock", json={"action": "advance", "seconds": 86400}
    )

    def more_readings():
        rows = _csv_rows(page, readings)
        return rows if len(rows) > len(before) else None

    after = _until(
        more_readings, "scheduled collection to add points", SCHEDULE_DEADLINE, log=log
    )
    # The new readings come from the sandbox a day later: views grew.
    newest = {row[0]: float(row[2]) for row in after}
    oldest = {row[0]: float(row[2]) for row in reversed(before)}
    assert any(newest[name] > oldest[name] for name in oldest if name in newest)
    page.goto(f"{site}/?range=2d&granularity=reading")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    _shot(page, "overview-readings")

    # A failing platform call shows up in the staff error log.
    httpx.post(
        f"{sandbox}/_sandbox/faults",
        json={
            "platform": "tiktok",
            "endpoint": "tiktok.user.info",
            "kind": "status_500",
            "rate": 1.0,
        },
    )
    demo_password = next(
        line.split("=", 1)[1]
        for line in (demo["data"] / "demo.env").read_text().splitlines()
        if line.startswith("DEMO_PASSWORD=")
    )
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.goto(f"{site}/accounts/login/")
    staff.get_by_label("Email").fill("demo@example.com")
    staff.get_by_label("Password").fill(demo_password)
    staff.locator("main form button[type=submit]").click()
    staff.wait_for_url(f"{site}/")

    def error_logged() -> bool:
        staff.goto(f"{site}/staff/errors/?platform=tiktok&days=1")
        return "No errors match" not in staff.content()

    _until(
        error_logged, "the failure in the staff error log", SCHEDULE_DEADLINE, log=log
    )
    _shot(staff, "staff-errors")
    context.close()
