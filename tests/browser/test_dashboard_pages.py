"""Creator and staff pages render their charts in a real browser."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from platforms.models import (
    ApiCallLog,
    CollectionRun,
    ConnectedAccount,
    ErrorLog,
    Platform,
    QuotaUsage,
    RateLimitBucket,
)
from platforms.quota import PACIFIC, next_reset, quota_day
from platforms.services.storage import MetricValue, snapshots_upsert
from tests.browser.conftest import log_in
from tests.dashboard.conftest import populate, populate_counters

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def account(youtube_account):
    populate(youtube_account, items=8, days=60)
    return youtube_account


def _charts_rendered(page) -> int:
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15_000)
    return page.locator(".js-plotly-plot").count()


def _plotted(page, chart_id: str) -> int:
    """Points (markers or bars) plotly actually drew in one chart.

    `.main-svg` exists for an empty plot too; drawn points do not.
    """
    chart = f"#chart-{chart_id}"
    page.wait_for_selector(f"{chart}[data-drawn] .main-svg", timeout=15_000)
    return page.locator(
        f"{chart} .scatterlayer .points path, {chart} .barlayer .point path"
    ).count()


def test_a_creator_browses_charts_changes_the_range_and_downloads_csv(
    page, live_server, account, screenshot
):
    log_in(page, live_server, "creator@example.com", "pw-creator-1")
    assert _charts_rendered(page) == 2
    assert page.get_by_role("heading", name="YouTube").is_visible()
    screenshot("overview")

    page.goto(live_server.url + reverse("dashboard:account", args=[account.pk]))
    assert _charts_rendered(page) == 4
    page.get_by_label("Range", exact=True).select_option("7d")
    page.get_by_label("By", exact=True).select_option("day")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**range=7d**")
    assert _charts_rendered(page) == 4
    screenshot("account")

    with page.expect_download() as download_info:
        page.locator(
            "#title-daily-views ~ .chart-meta a", has_text="Download CSV"
        ).click()
    download = download_info.value
    content = download.path().read_text()
    assert content.splitlines()[0] == "account,period start,views,estimated"
    assert len(content.splitlines()) == 8

    page.locator("table.top-content a").first.click()
    assert _charts_rendered(page) >= 2
    screenshot("item")


@pytest.fixture
def monitoring_data(account):
    """Quota used today, calls in the log, a rate-limit bucket and an error."""
    now = timezone.now()
    QuotaUsage.objects.create(
        platform="youtube",
        project="sandbox-google-client-id",
        day=quota_day(now, PACIFIC),
        units_used=2400,
        limit=10000,
        resets_at=next_reset(now, PACIFIC),
    )
    calls = []
    for minutes in range(0, 180, 6):
        for endpoint, cost in (("youtube.videos", 1), ("youtube.search", 100)):
            calls.append(
                ApiCallLog(
                    platform="youtube",
                    endpoint=endpoint,
                    method="GET",
                    status_code=500 if minutes % 60 == 0 else 200,
                    latency_ms=20 + minutes % 37,
                    quota_cost=cost,
                    project="sandbox-google-client-id",
                    account=account,
                    created_at=now - dt.timedelta(minutes=minutes),
                )
            )
    ApiCallLog.objects.bulk_create(calls)
    RateLimitBucket.objects.create(
        key="youtube:project:short-term",
        platform="youtube",
        endpoint_class="short-term",
        limit=3000,
        window_seconds=3600,
        tat=now.timestamp() + 1440,
        blocked_until=now + dt.timedelta(minutes=2),
        blocked_reason="rateLimitExceeded from Google",
    )
    return ErrorLog.objects.create(
        platform="youtube",
        error_class="quota",
        code="403",
        reason="quotaExceeded",
        message="The request cannot be completed because you have exceeded your quota.",
        account=account,
        request_id="req-browser-1",
    )


def test_staff_open_the_monitoring_pages_with_data(
    page, live_server, monitoring_data, staff_user, screenshot
):
    log_in(page, live_server, "staff@example.com", "pw-staff-1")
    page.goto(live_server.url + reverse("dashboard:staff-quota"))
    assert page.get_by_role("heading", level=1, name="Quota").is_visible()
    assert _plotted(page, "quota-0") >= 1  # the burn-down, hour by hour
    assert page.locator("table", has_text="youtube.search").is_visible()
    screenshot("staff-quota")

    page.goto(live_server.url + reverse("dashboard:staff-rate-limits"))
    row = page.locator("tr", has_text="short-term")
    # tat 24 minutes ahead in a 3,000-per-hour window: about 1,200 slots
    # taken (one drains every 1.2 s).
    assert re.search(r"1,[12]\d\d / 3,000", row.inner_text())
    assert "rateLimitExceeded from Google" in row.inner_text()
    screenshot("staff-rate-limits")

    page.goto(live_server.url + reverse("dashboard:staff-api-health"))
    assert _plotted(page, "health-requests") >= 3
    assert _plotted(page, "health-errors") >= 3
    assert _plotted(page, "health-latency") >= 6  # p50 and p95 per hour
    screenshot("staff-api-health")

    page.goto(live_server.url + reverse("dashboard:staff-errors"))
    page.get_by_role("link", name=re.compile("\\d{4}-\\d{2}-\\d{2}")).first.click()
    assert page.get_by_text("req-browser-1").is_visible()
    screenshot("staff-error-detail")
    page.get_by_role("button", name="Mark resolved").click()
    page.wait_for_selector("text=Marked as resolved.")
    monitoring_data.refresh_from_db()
    assert monitoring_data.resolved

    page.goto(live_server.url + reverse("dashboard:staff-errors") + "?state=resolved")
    assert page.get_by_text("exceeded your quota").is_visible()
    screenshot("staff-errors")

    page.goto(live_server.url + reverse("dashboard:staff-api-explorer"))
    assert page.get_by_role("heading", level=1, name="API explorer").is_visible()
    screenshot("staff-api-explorer")


def test_a_creator_is_kept_out_of_staff_pages(page, live_server, account):
    log_in(page, live_server, "creator@example.com", "pw-creator-1")
    page.goto(live_server.url + reverse("dashboard:staff-quota"))
    assert "/admin/login/" in page.url


def test_every_reading_draws_points_in_the_browser(page, live_server, youtube_account):
    now = timezone.now().replace(second=0, microsecond=0)
    for hours_ago in (1, 4, 9):
        snapshots_upsert(
            account=youtube_account,
            values=[
                MetricValue("follower_count", 500 - hours_ago, "youtube.channels"),
                MetricValue("view_count", 9000 - 100 * hours_ago, "youtube.channels"),
            ],
            fetched_at=now - dt.timedelta(hours=hours_ago),
        )
    log_in(page, live_server, "creator@example.com", "pw-creator-1")
    page.goto(live_server.url + "/?range=2d&granularity=reading")
    assert _plotted(page, "followers") == 3
    assert _plotted(page, "views") == 3
    page.goto(
        live_server.url
        + reverse("dashboard:account", args=[youtube_account.pk])
        + "?range=2d&granularity=reading"
    )
    assert _plotted(page, "followers") == 3
    assert _plotted(page, "daily-views") == 2  # growth between three readings


def _counters_account(creator, platform, handle, scale=1):
    account = ConnectedAccount.objects.create(
        owner=creator,
        platform=platform,
        platform_user_id=f"{platform}-browser",
        handle=handle,
    )
    populate_counters(account, items=4, days=30, scale=scale)
    return account


def test_a_creator_compares_three_platforms_and_sets_the_time_zone(
    page, live_server, account, screenshot
):
    _counters_account(account.owner, Platform.TIKTOK, "@tok")
    _counters_account(account.owner, Platform.INSTAGRAM, "@insta", scale=2)
    log_in(page, live_server, "creator@example.com", "pw-creator-1")
    page.get_by_role("link", name="Compare").click()
    page.wait_for_url("**/compare/")
    table = page.locator("table.kpi-table").first
    for platform in ("TikTok", "YouTube", "Instagram"):
        assert table.get_by_role("rowheader", name=platform).is_visible()
    assert _plotted(page, "compare-view_count") >= 3 * 20
    legend = page.locator(
        "#chart-compare-view_count .legend .legendtext"
    ).all_text_contents()
    assert "TikTok · @tok (from readings)" in legend
    assert "Instagram · @insta (from readings)" in legend
    assert _plotted(page, "compare-engagement") >= 3 * 20
    screenshot("compare")

    page.get_by_role("link", name="Preferences").click()
    page.get_by_label("Time zone").fill("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Time zone set to Asia/Tokyo.").is_visible()
    screenshot("preferences")
    page.goto(live_server.url + reverse("dashboard:compare"))
    assert page.get_by_text("· Asia/Tokyo").is_visible()


def test_a_creator_gets_404_for_another_creators_account_and_item(
    page, live_server, account, other_creator
):
    item = account.items.first()
    log_in(page, live_server, "other@example.com", "pw-other-1")
    for url in (
        reverse("dashboard:account", args=[account.pk]),
        reverse("dashboard:item", args=[item.pk]),
        reverse("dashboard:account", args=[account.pk]) + "?csv=followers",
    ):
        response = page.goto(live_server.url + url)
        assert response.status == 404, url
        assert "@example" not in page.content()


def test_the_connections_page_updates_progress_without_reloading(
    page, live_server, youtube_account, screenshot
):
    run = CollectionRun.objects.create(
        account=youtube_account,
        kind=CollectionRun.Kind.BACKFILL,
        status=CollectionRun.Status.RUNNING,
        progress_done=30,
        progress_total=120,
    )
    log_in(page, live_server, "creator@example.com", "pw-creator-1")
    page.goto(live_server.url + reverse("dashboard:connections"))
    assert page.get_by_text("25% (30 of 120)").is_visible()
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    # A reload would wipe this; the polling (runs.js) replaces only #runs.
    page.evaluate("window.stillTheSamePage = true")

    CollectionRun.objects.filter(pk=run.pk).update(progress_done=90)
    page.wait_for_selector("text=75% (90 of 120)", timeout=10_000)
    assert page.locator(f"#run-{run.pk}").get_attribute("value") == "75"

    CollectionRun.objects.filter(pk=run.pk).update(
        status=CollectionRun.Status.SUCCEEDED, progress_done=120
    )
    page.wait_for_selector("#runs[data-active='0']", timeout=10_000)
    assert page.get_by_text("Succeeded").is_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    assert navigations == []
    screenshot("connections-progress")
