"""What a newcomer's first hour with the demo found: each finding, pinned."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from dashboard import staff_views
from dashboard.templatetags.humanize_metrics import change, change_points
from platforms import monitoring
from platforms.models import ApiCallLog, ContentItem, RateLimitBucket
from platforms.services.storage import (
    DistributionData,
    ItemData,
    MetricValue,
    daily_values_upsert,
    distributions_upsert,
    items_upsert,
    snapshots_upsert,
)
from tests.dashboard.test_views import figure_of


def one_item(account, platform_id, kind, *, title, published_at) -> int:
    """Store one content item of `account`; its primary key."""
    (pk,) = items_upsert(
        account=account,
        items=[
            ItemData(
                platform_item_id=platform_id,
                kind=kind,
                title=title,
                published_at=published_at,
            )
        ],
        seen_at=timezone.now(),
    ).values()
    return pk


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.0, "no change"),
        (0.04, "no change"),  # rounds to 0.0 %
        (-0.04, "no change"),
        (1.5, "▲ 1.5%"),
        (-1.5, "▼ 1.5%"),
    ],
)
def test_a_change_that_rounds_to_nothing_reads_no_change(value, shown):
    html = str(change(value))
    assert f'<span aria-hidden="true">{shown}</span>' in html
    assert ("change-none" in html) is (shown == "no change")


def test_a_rate_change_that_rounds_to_nothing_reads_no_change():
    assert "no change" in str(change_points(0.001))
    assert "▲ 0.25 pp" in str(change_points(0.25))


def test_a_csv_lists_each_line_in_time_order(client, youtube_account):
    # The followers chart joins the readings and, before the first of them,
    # the estimate walked back from daily gains: two groups of points that
    # the CSV must still list forwards in time.
    now = timezone.now().replace(microsecond=0)
    for days_ago, followers in ((3, 1000), (1, 1010)):
        snapshots_upsert(
            account=youtube_account,
            values=[MetricValue("follower_count", followers, "youtube.channels")],
            fetched_at=now - dt.timedelta(days=days_ago),
        )
    today = timezone.localdate()
    daily_values_upsert(
        account=youtube_account,
        values=[
            MetricValue(
                "follower_gain",
                4,
                "youtubeAnalytics.reports",
                day=today - dt.timedelta(days=d),
            )
            for d in range(4, 10)
        ],
        fetched_at=now,
    )
    client.force_login(youtube_account.owner)
    body = client.get(
        reverse("dashboard:overview"),
        {"csv": "followers", "range": "30d", "granularity": "day"},
    ).content.decode()
    rows = list(csv.reader(io.StringIO(body)))[1:]
    assert {row[3] for row in rows} == {"", "estimated"}, rows
    days = [row[1] for row in rows]
    assert days == sorted(days)
    assert len(set(days)) == len(days)
    # The estimate reaches back as far as the gains do, not to the range's
    # start: before the oldest gain the count is unknown, not unchanged.
    oldest_gain = today - dt.timedelta(days=9)
    assert days[0] == (oldest_gain - dt.timedelta(days=1)).isoformat()


def test_an_item_with_hidden_likes_says_why_its_chart_is_empty(client, youtube_account):
    now = timezone.now()
    pk = one_item(
        youtube_account,
        "hidden",
        ContentItem.Kind.VIDEO,
        title="Hidden likes",
        published_at=now - dt.timedelta(days=3),
    )
    snapshots_upsert(
        account=youtube_account,
        values=[
            MetricValue("view_count", 40, "youtube.videos", item_id=pk),
            MetricValue(
                "like_count",
                None,
                "youtube.videos",
                missing_reason="likes are hidden on this video",
                item_id=pk,
            ),
        ],
        fetched_at=now - dt.timedelta(hours=1),
    )
    client.force_login(youtube_account.owner)
    html = client.get(reverse("dashboard:item", args=[pk])).content.decode()
    section = html.split('id="title-like_count-total"', 1)[1].split("</section>")[0]
    assert "Likes: likes are hidden on this video" in section
    assert "No data for this range yet." not in section
    # Comments were not hidden, only not read: no chart, no invented reason.
    assert 'id="title-comment_count-total"' not in html


def test_pages_declare_an_icon_that_is_served(client, creator):
    client.force_login(creator)
    html = client.get(reverse("dashboard:overview")).content.decode()
    (href,) = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    assert href.endswith(".svg")
    assert finders.find("favicon.svg")


def test_the_login_page_offers_password_reset_once(client, db):
    html = client.get(reverse("account_login")).content.decode()
    assert html.count("Forgot your password?") == 1


@pytest.mark.django_db
def test_one_hour_of_calls_gets_an_axis_of_clock_times():
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    ApiCallLog.objects.bulk_create(
        ApiCallLog(
            platform=platform,
            endpoint="x",
            method="GET",
            status_code=200,
            latency_ms=12,
        )
        for platform in ("tiktok", "youtube")
    )
    over_time = monitoring.api_health_over_time(since=hour - dt.timedelta(hours=1))
    assert len({row.hour for row in over_time}) == 1
    charts = staff_views._health_charts(over_time)
    requests = json.loads(charts[0][2].to_json())
    start, end = requests["layout"]["xaxis"]["range"]
    span = dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)
    assert span == dt.timedelta(hours=1)
    # Each platform's bar gets its own slice of the hour, side by side.
    bars = requests["data"]
    assert len({bar["offset"] for bar in bars}) == 2
    assert all(bar["width"] > 0 for bar in bars)


def test_the_account_page_shows_the_audience_the_platform_reports(
    client, youtube_account, instagram_account
):
    now = timezone.now()
    today = now.date()
    distributions_upsert(
        account=youtube_account,
        distributions=[
            DistributionData(
                kind="country",
                day=today,
                data=[{"key": "US", "value": 900}, {"key": "DE", "value": 120}],
                source="youtubeAnalytics.reports",
            ),
            # An older report of the same kind is not the one shown.
            DistributionData(
                kind="country",
                day=today - dt.timedelta(days=7),
                data=[{"key": "FR", "value": 5}],
                source="youtubeAnalytics.reports",
            ),
        ],
        fetched_at=now,
    )
    distributions_upsert(
        account=instagram_account,
        distributions=[
            DistributionData(
                kind="age_gender",
                day=today,
                data=[{"key": "18-24 F", "value": 40}],
                source="graph.ig_user.insights",
            )
        ],
        fetched_at=now,
    )
    client.force_login(youtube_account.owner)
    url = reverse("dashboard:account", args=[youtube_account.pk])
    html = client.get(url).content.decode()
    assert "Audience by country" in html
    (bars,) = figure_of(html, "audience-country")["data"]
    assert (bars["x"], bars["y"]) == (["US", "DE"], [900, 120])
    # Another account's audience stays on that account's page.
    assert "Audience demographics" not in html
    body = client.get(url, {"csv": "audience-country"}).content.decode()
    assert list(csv.reader(io.StringIO(body))) == [
        ["bucket", "value"],
        ["US", "900"],
        ["DE", "120"],
    ]
    other = client.get(
        reverse("dashboard:account", args=[instagram_account.pk])
    ).content.decode()
    assert "Audience demographics" in other
    layout = figure_of(other, "audience-age_gender")["layout"]
    assert layout["yaxis"]["title"]["text"] == "followers"


def test_favicon_ico_leads_to_the_served_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith(".svg")
    assert "favicon" in response["Location"]


def test_signing_in_names_the_user_by_email(client, creator):
    creator.set_password("a-long-test-password")
    creator.save()
    response = client.post(
        reverse("account_login"),
        {"login": creator.email, "password": "a-long-test-password"},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any(creator.email in message for message in shown), shown


def test_a_youtube_item_without_a_share_counter_shows_no_empty_total(
    client, youtube_account
):
    now = timezone.now()
    pk = one_item(
        youtube_account,
        "v-shares",
        ContentItem.Kind.VIDEO,
        title="Shared",
        published_at=now - dt.timedelta(days=10),
    )
    daily_values_upsert(
        account=youtube_account,
        values=[
            MetricValue(
                "share_count",
                3,
                "youtubeAnalytics.reports",
                item_id=pk,
                day=now.date() - dt.timedelta(days=d),
            )
            for d in range(1, 5)
        ],
        fetched_at=now,
    )
    snapshots_upsert(
        account=youtube_account,
        values=[MetricValue("view_count", 40, "youtube.videos", item_id=pk)],
        fetched_at=now - dt.timedelta(hours=1),
    )
    client.force_login(youtube_account.owner)
    html = client.get(reverse("dashboard:item", args=[pk])).content.decode()
    assert 'id="title-share_count-daily"' in html
    assert 'id="title-share_count-total"' not in html
    # A counter with a reading keeps its total chart.
    assert 'id="title-view_count-total"' in html


def test_the_rate_limit_page_says_what_used_now_means(client, staff_user):
    RateLimitBucket.objects.create(
        key="youtube:app:data",
        platform="youtube",
        endpoint_class="data",
        limit=100000,
        window_seconds=3600,
    )
    client.force_login(staff_user)
    html = client.get(reverse("dashboard:staff-rate-limits")).content.decode()
    assert "100,000 per 3,600 s" in html
    assert "0 / 100,000" in html
    assert "Used now" in html and "an idle bucket reads 0" in html


@pytest.mark.parametrize("granularity", ["week", "month"])
def test_the_follower_estimate_reaches_weekly_and_monthly_charts(
    client, youtube_account, granularity
):
    # A range before the first reading: only the estimate can fill it, and
    # per week or month it is the estimate of each period's last day.
    now = timezone.now().replace(microsecond=0)
    snapshots_upsert(
        account=youtube_account,
        values=[MetricValue("follower_count", 5000, "youtube.channels")],
        fetched_at=now,
    )
    today = timezone.localdate()
    daily_values_upsert(
        account=youtube_account,
        values=[
            MetricValue(
                "follower_gain",
                10,
                "youtubeAnalytics.reports",
                day=today - dt.timedelta(days=d),
            )
            for d in range(0, 80)
        ],
        fetched_at=now,
    )
    start, end = today - dt.timedelta(days=70), today - dt.timedelta(days=10)
    client.force_login(youtube_account.owner)
    body = client.get(
        reverse("dashboard:overview"),
        {
            "csv": "followers",
            "range": "custom",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "granularity": granularity,
        },
    ).content.decode()
    rows = list(csv.reader(io.StringIO(body)))[1:]
    assert rows, "the estimate fills the range"
    assert {row[3] for row in rows} == {"estimated"}
    buckets = [dt.date.fromisoformat(row[1]) for row in rows]
    assert len(set(buckets)) == len(buckets)
    if granularity == "week":
        assert all(b.weekday() == 0 for b in buckets)
    else:
        assert all(b.day == 1 for b in buckets)
    # Each period's value is its last day's estimate: 10 a day lower per
    # day further back, so later periods hold more followers.
    values = [float(row[2]) for row in rows]
    assert values == sorted(values)
    assert max(values) < 5000


def test_an_instagram_story_is_named_and_charts_what_it_has(client, instagram_account):
    published = dt.datetime(2026, 12, 3, 14, 5, tzinfo=dt.UTC)
    pk = one_item(
        instagram_account,
        "17753470004999999",
        ContentItem.Kind.STORY,
        title="",
        published_at=published,
    )
    for hours_ago, reach in ((5, 120), (1, 159)):
        snapshots_upsert(
            account=instagram_account,
            values=[
                MetricValue("reach", reach, "graph.story.insights", item_id=pk),
                MetricValue("replies", 2, "graph.story.insights", item_id=pk),
            ],
            fetched_at=timezone.now() - dt.timedelta(hours=hours_ago),
        )
    client.force_login(instagram_account.owner)
    html = client.get(reverse("dashboard:item", args=[pk])).content.decode()
    assert "<h1" in html and "Story of 2026-12-03 14:05 UTC" in html
    assert "17753470004999999</h1>" not in html
    assert 'id="title-reach-total"' in html and 'id="title-replies-total"' in html
    # A story has no likes: no chart claims they are still to come.
    assert 'id="title-like_count-total"' not in html
    top = client.get(
        reverse("dashboard:account", args=[instagram_account.pk])
    ).content.decode()
    assert "Story of 2026-12-03 14:05 UTC" in top


def test_the_rate_limit_page_names_overridden_limits(client, staff_user, settings):
    settings.PLATFORM_RATE_LIMITS = {"tiktok": {"video_metrics": "1000/24m"}}
    client.force_login(staff_user)
    html = client.get(reverse("dashboard:staff-rate-limits")).content.decode()
    assert "PLATFORM_RATE_LIMITS" in html and "tiktok.video_metrics=1000/24m" in html
    settings.PLATFORM_RATE_LIMITS = {}
    html = client.get(reverse("dashboard:staff-rate-limits")).content.decode()
    assert "PLATFORM_RATE_LIMITS" not in html


def test_empty_overview_cards_say_what_they_need(client, instagram_account):
    client.force_login(instagram_account.owner)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert "needs a reading at each end of the range" in html
    assert "needs views and interactions in the range" in html


def test_posting_activity_ticks_whole_items(client, populated_account):
    client.force_login(populated_account.owner)
    html = client.get(
        reverse("dashboard:account", args=[populated_account.pk]), {"range": "7d"}
    ).content.decode()
    yaxis = figure_of(html, "posting")["layout"]["yaxis"]
    assert (yaxis["tickformat"], yaxis["dtick"]) == (",d", 1)
