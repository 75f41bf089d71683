"""Compare, engagement and per-period charts for all three platforms.

TikTok and Instagram give item counters only; their per-period values are
derived from the readings and say so.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.kpis import Kpi
from tests.dashboard.conftest import populate, populate_counters
from tests.dashboard.test_provenance import chart_section
from tests.dashboard.test_views import figure_of


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
