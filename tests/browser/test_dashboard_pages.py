"""Creator and staff pages render their charts in a real browser."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from platforms.services.storage import MetricValue, snapshots_upsert
from tests.browser.conftest import log_in
from tests.dashboard.conftest import populate

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


def test_staff_open_the_monitoring_pages(
    page, live_server, account, staff_user, screenshot
):
    log_in(page, live_server, "staff@example.com", "pw-staff-1")
    for name, heading in (
        ("dashboard:staff-quota", "Quota"),
        ("dashboard:staff-rate-limits", "Rate limits"),
        ("dashboard:staff-errors", "Error log"),
        ("dashboard:staff-api-health", "API health"),
        ("dashboard:staff-api-explorer", "API explorer"),
    ):
        page.goto(live_server.url + reverse(name))
        assert page.get_by_role("heading", level=1, name=heading).is_visible()
        screenshot(f"staff-{name.split('-', 1)[1]}")


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
