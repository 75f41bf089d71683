"""What a new user does with `make demo`, in Chromium, end to end.

Starts `manage.py demo` exactly as `make demo` does on a fresh clone: no
settings of its own beyond a fresh DATA_DIR and free ports, so the demo's
own defaults (sandbox clock, collection intervals, limits) are what is
tested. Signs up, connects TikTok, YouTube and Instagram through the sandbox
consent pages, watches the Connections page show the backfills finish by
itself, sees charts from all three, advances the sandbox clock, sees
scheduled collection add points, and finds the platform failure it injected
in the staff error log. Screenshots go to test-artifacts/screenshots/demo-*.png.
"""

from __future__ import annotations

import csv
import datetime as dt
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
    """`manage.py demo` on free ports; stopped with Ctrl-C (SIGINT) afterwards.

    The environment of a fresh clone: nothing from the test settings or
    CI's DATABASE_URL/REDIS_URL, so the demo runs on its embedded default.
    """
    port, sandbox_port = _free_port(), _free_port()
    log = tmp_path / "demo.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        # Not the repository's staticfiles/: that folder is the user's.
        "STATIC_ROOT": str(tmp_path / "static"),
    }
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


# True once the runs table lists three backfills and every one has ended.
BACKFILLS_ENDED = """() => {
  const rows = [...document.querySelectorAll("#runs tbody tr")]
    .filter((row) => row.cells[1].textContent.trim() === "Backfill");
  return rows.length === 3
    && rows.every((row) => /Succeeded|Partial/.test(row.cells[2].textContent));
}"""
# The fault the test provokes: TikTok's user info endpoint answers 500.
FAULT = {
    "platform": "tiktok",
    "endpoint": "tiktok.user.info",
    "kind": "status_500",
    "rate": 1.0,
}


def _log_in_as_staff(browser, site: str, data: Path):
    password = next(
        line.split("=", 1)[1]
        for line in (data / "demo.env").read_text().splitlines()
        if line.startswith("DEMO_PASSWORD=")
    )
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.goto(f"{site}/accounts/login/")
    staff.get_by_label("Email").fill("demo@example.com")
    staff.get_by_label("Password").fill(password)
    staff.locator("main form button[type=submit]").click()
    staff.wait_for_url(f"{site}/")
    return staff


def _filter_errors(staff, site: str) -> None:
    """The staff error log, filtered as staff would: TikTok, the fault's code."""
    staff.goto(f"{site}/staff/errors/")
    staff.get_by_label("Platform").select_option("tiktok")
    staff.get_by_label("Code / reason").fill("internal_error")
    staff.get_by_label("Since").select_option("1")
    staff.get_by_role("button", name="Filter").click()
    staff.wait_for_url("**/staff/errors/?*")


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
    # Back on the Connections page, with the last backfill just queued.
    assert page.locator("#runs").get_attribute("data-active") == "1"
    _shot(page, "connections-backfilling")

    # The page updates itself (it polls its runs fragment) until every
    # backfill has ended; a reload would lose this marker.
    page.evaluate("window.stillTheSamePage = true")
    started = time.monotonic()
    page.wait_for_function(BACKFILLS_ENDED, timeout=BACKFILL_DEADLINE * 1000)
    assert page.evaluate("window.stillTheSamePage === true")
    assert page.locator("#runs").get_attribute("data-active") == "0"
    backfilled = time.monotonic() - started
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

    # Nothing of the fault to come is in the error log yet.
    staff = _log_in_as_staff(browser, site, demo["data"])
    _filter_errors(staff, site)
    assert staff.get_by_text("No errors match.").is_visible()

    # Advance the sandbox clock a day and make TikTok's user info fail from
    # now on. The next round of scheduled collection, on the demo's own
    # intervals, adds points for the other platforms and meets the failure,
    # which staff then find in the error log. (One round for both: each
    # round waits for django-q2's once-a-minute planner schedule.)
    readings = f"{site}/?range=2d&granularity=reading&csv=views"
    before = _csv_rows(page, readings)
    injected_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    httpx.post(
        f"{sandbox}/_sandbox/clock", json={"action": "advance", "seconds": 86400}
    ).raise_for_status()
    httpx.post(f"{sandbox}/_sandbox/faults", json=FAULT).raise_for_status()
    advanced = time.monotonic()

    def error_listed() -> bool:
        _filter_errors(staff, site)
        return not staff.get_by_text("No errors match.").is_visible()

    _until(
        error_listed, "the failure in the staff error log", SCHEDULE_DEADLINE, log=log
    )
    failure_seen = time.monotonic() - advanced
    # Healthy again: the next round must not add a second row.
    rule = httpx.get(f"{sandbox}/_sandbox/faults").json()["rules"][0]
    httpx.delete(f"{sandbox}/_sandbox/faults").raise_for_status()
    assert rule["fired"] >= 1, rule

    def more_readings():
        rows = _csv_rows(page, readings)
        return rows if len(rows) > len(before) else None

    after = _until(
        more_readings, "scheduled collection to add points", SCHEDULE_DEADLINE, log=log
    )
    new_points = time.monotonic() - advanced
    # The new readings come from the sandbox a day later: views grew.
    newest = {row[0]: float(row[2]) for row in after}
    oldest = {row[0]: float(row[2]) for row in reversed(before)}
    assert any(newest[name] > oldest[name] for name in oldest if name in newest)
    page.goto(f"{site}/?range=2d&granularity=reading")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    _shot(page, "overview-readings")

    # The error log as it was filtered when the failure showed up.
    rows = staff.locator("main table tbody tr")
    assert rows.count() == 1  # one run met the fault: one row, none before
    row = rows.first
    assert "TikTok" in row.inner_text() and "internal_error" in row.inner_text()
    when = dt.datetime.fromisoformat(row.locator("time").get_attribute("datetime"))
    assert when >= injected_at, (when, injected_at)
    _shot(staff, "staff-errors")
    row.locator("a").click()
    staff.wait_for_url("**/staff/errors/*/")
    detail = {
        term.inner_text(): term.locator("xpath=following-sibling::dd[1]").inner_text()
        for term in staff.locator("dl.detail dt").all()
    }
    assert detail["Endpoint"] == FAULT["endpoint"]
    assert detail["HTTP status"] == "500"
    assert detail["Code / reason / subcode"].startswith("internal_error")
    assert detail["Request id"] not in {"", "—"}  # TikTok's log_id of that reply
    _shot(staff, "staff-error-detail")
    # The YouTube quota the demo's collection spent, as staff see it.
    staff.goto(f"{site}/staff/quota/")
    assert staff.get_by_text("units used today").first.is_visible()
    _shot(staff, "staff-quota")
    context.close()
    print(
        f"\ndemo: backfills ended {backfilled:.0f} s after connecting; "
        f"scheduled points {new_points:.0f} s and the failure in the error log "
        f"{failure_seen:.0f} s after the clock moved"
    )
