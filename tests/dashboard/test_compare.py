"""Compare, engagement and per-period charts for all three platforms.

TikTok and Instagram give item counters only; their per-period values are
derived from the readings and say so.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.kpis import Kpi
from platforms.services.storage import (
    ItemData,
    MetricValue,
    daily_values_upsert,
    item_totals_upsert,
    items_upsert,
    snapshots_upsert,
)
from tests.dashboard.conftest import populate, populate_counters
from tests.dashboard.test_provenance import chart_section
from tests.dashboard.test_views import figure_of

T_SEEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def three(youtube_account, tiktok_account, instagram_account):
    populate(youtube_account, items=3, days=30)
    tiktok = populate_counters(tiktok_account)
    instagram = populate_counters(instagram_account, scale=2)
    return {"tiktok": tiktok, "instagram": instagram}


def _plotted(trace: dict) -> list:
    return [y for y in trace["y"] if y is not None]


def test_compare_shows_every_platform_per_period(client, creator, three):
    client.force_login(creator)
    html = client.get(reverse("dashboard:compare"), {"range": "7d"}).content.decode()
    views = {t["name"]: t for t in figure_of(html, "compare-view_count")["data"]}
    assert set(views) == {
        "YouTube · @example",
        "TikTok · @tok (from readings)",
        "Instagram · @insta (from readings)",
    }
    # Clips 1..3 gain 10, 20 and 30 views a day (doubled on Instagram).
    assert _plotted(views["TikTok · @tok (from readings)"]) == [60] * 7
    assert _plotted(views["Instagram · @insta (from readings)"]) == [120] * 7
    # YouTube's day values: item i has (i+1)·100 + d views d days ago.
    assert _plotted(views["YouTube · @example"])[-1] == 600
    note = chart_section(html, "compare-view_count")
    assert "derived from readings" in note
    assert "youtubeAnalytics.reports" in note and "tiktok.media" in note
    engagement = {t["name"]: t for t in figure_of(html, "compare-engagement")["data"]}
    # (likes 6 + comments 3) / views 60 a day.
    assert _plotted(engagement["TikTok · @tok (from readings)"]) == [0.15] * 7
    assert _plotted(engagement["Instagram · @insta (from readings)"]) == [0.15] * 7
    assert _plotted(engagement["YouTube · @example"])


def test_compare_tables_hold_the_standard_metrics_of_each_platform(
    client, creator, three
):
    client.force_login(creator)
    response = client.get(reverse("dashboard:compare"), {"range": "7d"})
    platforms = {row.label: row for row in response.context["platform_rows"]}
    assert list(platforms) == ["TikTok", "YouTube", "Instagram"]
    tiktok = platforms["TikTok"]
    # The last reading (day 20: 500 + 100) against the one before the range
    # (7 days back: 500 + 65).
    assert tiktok.followers == Kpi(600, 565)
    # The account's view counter gains 60 a day: 7 days now and before.
    assert tiktok.views == Kpi(420, 420)
    assert tiktok.engagement_rate == Kpi(0.15, 0.15, unit="rate")
    assert tiktok.engagement_rate.change == 0.0
    assert tiktok.new_items == Kpi(1, 0)
    assert tiktok.derived == ("TikTok · @tok",)
    assert platforms["Instagram"].views == Kpi(840, 840)
    assert platforms["YouTube"].derived == ()
    assert platforms["YouTube"].engagement_rate.value is not None
    accounts = {row.label for row in response.context["account_rows"]}
    assert accounts == {"YouTube · @example", "TikTok · @tok", "Instagram · @insta"}
    html = response.content.decode()
    assert "15.00 %" in html and "from readings" in html


def test_tiktok_account_and_item_pages_have_per_period_charts(
    client, creator, tiktok_account, three
):
    client.force_login(creator)
    account = client.get(
        reverse("dashboard:account", args=[tiktok_account.pk]), {"range": "7d"}
    ).content.decode()
    (engagement,) = figure_of(account, "engagement")["data"]
    assert engagement["name"] == "TikTok · @tok (from readings)"
    assert _plotted(engagement) == [0.15] * 7
    (views,) = figure_of(account, "daily-views")["data"]
    assert _plotted(views) == [60] * 7
    (gains,) = figure_of(account, "follower-gain")["data"]
    assert _plotted(gains) == [5] * 7
    assert "net change of the follower count" in chart_section(account, "follower-gain")
    item = client.get(
        reverse("dashboard:item", args=[three["tiktok"][1]]), {"range": "7d"}
    ).content.decode()
    (likes,) = figure_of(item, "like_count-daily")["data"]
    assert likes["name"].endswith("(from readings)")
    assert _plotted(likes) == [2] * 7
    assert "derived from readings" in chart_section(item, "like_count-daily")


def _run(account, at, readings):
    """One collection run: item readings {(metric, item pk): value}, then totals."""
    snapshots_upsert(
        account=account,
        values=[
            MetricValue(metric, value, "tiktok.video.list", item_id=pk)
            for (metric, pk), value in readings.items()
        ],
        fetched_at=at,
    )
    item_totals_upsert(account=account, fetched_at=at)


def test_growth_of_an_item_read_late_lands_in_an_estimated_period(
    client, creator, tiktok_account
):
    now = timezone.now()
    published = now - dt.timedelta(days=60)
    ids = items_upsert(
        account=tiktok_account,
        items=[ItemData(key, "video", published_at=published) for key in "ab"],
        seen_at=now,
    )
    a, b = ids["a"], ids["b"]
    day = [now - dt.timedelta(days=d) for d in range(4)]
    _run(tiktok_account, day[3], {("view_count", a): 90, ("view_count", b): 980})
    _run(tiktok_account, day[2], {("view_count", a): 100, ("view_count", b): 1000})
    # b is on a slower cadence: not read the day before yesterday.
    _run(tiktok_account, day[1], {("view_count", a): 110})
    _run(tiktok_account, day[0], {("view_count", a): 120, ("view_count", b): 1040})
    client.force_login(creator)
    html = client.get(reverse("dashboard:compare"), {"range": "7d"}).content.decode()
    traces = {t["name"]: t for t in figure_of(html, "compare-view_count")["data"]}
    measured = traces["TikTok · @tok (from readings)"]
    estimated = traces["TikTok · @tok (from readings) (estimated)"]
    assert _plotted(measured) == [30]
    # b's 40 views since its last reading land when it is read again, in a
    # period flagged estimated (as is the one it was missing from): nothing
    # of the items' 30 + 60 views is dropped.
    assert _plotted(estimated) == [10, 50]
    note = chart_section(html, "compare-view_count")
    assert "includes estimated values" in note
    assert "sum of items&#x27;" in note or "sum of items'" in note
    assert "the last total of the items" in note


def test_day_values_of_the_account_come_before_its_items(
    client, creator, youtube_account, tiktok_account
):
    """A YouTube channel's day rows count every video (deleted ones too);
    a TikTok business account's days come before its item counters."""
    today = timezone.now().date()
    ids = items_upsert(
        account=youtube_account, items=[ItemData("v", "video")], seen_at=T_SEEN
    )
    days = [today - dt.timedelta(days=d) for d in range(7)]
    daily_values_upsert(
        account=youtube_account,
        values=[
            MetricValue(metric, value, "youtubeAnalytics.reports", item_id=pk, day=day)
            for day in days
            for pk, scale in ((None, 2), (ids["v"], 1))
            for metric, value in (("view_count", 100 * scale), ("like_count", scale))
        ],
        fetched_at=T_SEEN,
    )
    daily_values_upsert(
        account=tiktok_account,
        values=[
            MetricValue(metric, value, "tiktok.business.get", day=day)
            for day in days
            for metric, value in (("view_count", 50), ("share_count", 5))
        ],
        fetched_at=T_SEEN,
    )
    populate_counters(tiktok_account)  # counters too: the days win
    client.force_login(creator)
    html = client.get(reverse("dashboard:compare"), {"range": "7d"}).content.decode()
    views = {t["name"]: t for t in figure_of(html, "compare-view_count")["data"]}
    assert set(views) == {"YouTube · @example", "TikTok · @tok"}
    assert _plotted(views["YouTube · @example"]) == [200] * 7
    assert _plotted(views["TikTok · @tok"]) == [50] * 7
    engagement = {t["name"]: t for t in figure_of(html, "compare-engagement")["data"]}
    assert _plotted(engagement["YouTube · @example"]) == [0.01] * 7
    assert _plotted(engagement["TikTok · @tok"]) == [0.1] * 7
    note = chart_section(html, "compare-view_count")
    assert "tiktok.business.get" in note and "derived from readings" not in note
