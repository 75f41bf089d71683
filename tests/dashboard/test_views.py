"""Creator pages: who may see what, what they show, and their CSV downloads."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.models import CreatorProfile
from tests.dashboard.conftest import populate


def _urls(account):
    item = account.items.first()
    return [
        reverse("dashboard:account", args=[account.pk]),
        reverse("dashboard:item", args=[item.pk]),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, populated_account):
    for url in [reverse("dashboard:overview"), *_urls(populated_account)]:
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("account_login") in response["Location"]


def test_another_creator_gets_404_for_foreign_accounts_and_items(
    client, populated_account, other_creator
):
    client.force_login(other_creator)
    for url in _urls(populated_account):
        assert client.get(url).status_code == 404


def test_the_owner_sees_charts_with_data(client, populated_account):
    client.force_login(populated_account.owner)
    overview = client.get(reverse("dashboard:overview"))
    assert overview.status_code == 200
    html = overview.content.decode()
    assert 'id="chart-followers"' in html
    assert "vendor/plotly.min" in html
    assert "Followers" in html
    for url in _urls(populated_account):
        response = client.get(url)
        assert response.status_code == 200
        assert "chart-" in response.content.decode()


def test_the_empty_overview_leads_to_connecting(client, creator):
    client.force_login(creator)
    html = client.get(reverse("dashboard:overview")).content.decode()
    assert "No accounts connected yet" in html


def test_it_downloads_a_chart_as_csv(client, populated_account):
    client.force_login(populated_account.owner)
    url = reverse("dashboard:account", args=[populated_account.pk])
    response = client.get(url, {"range": "7d", "csv": "daily-views"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "account,period start,views,estimated"
    assert len(lines) == 1 + 7


def test_an_invalid_custom_range_explains_itself(client, populated_account):
    client.force_login(populated_account.owner)
    response = client.get(
        reverse("dashboard:overview"),
        {"range": "custom", "start": "2026-05-02", "end": "2026-05-01"},
    )
    assert response.status_code == 200
    assert "start date must be on or before" in response.content.decode()


def test_weekly_granularity_groups_days(client, populated_account):
    client.force_login(populated_account.owner)
    url = reverse("dashboard:account", args=[populated_account.pk])
    response = client.get(
        url, {"range": "28d", "granularity": "week", "csv": "daily-views"}
    )
    rows = response.content.decode().strip().splitlines()[1:]
    assert 4 <= len(rows) <= 5


def test_the_time_zone_preference_is_validated(client, creator):
    client.force_login(creator)
    url = reverse("dashboard:preferences")
    assert client.post(url, {"time_zone": "Mars/Olympus"}).status_code == 400
    assert client.post(url, {"time_zone": "Europe/Berlin"}).status_code == 302
    assert CreatorProfile.objects.get(user=creator).time_zone == "Europe/Berlin"


CREATOR_PAGES = [
    ("dashboard:overview", None),
    ("dashboard:compare", None),
    ("dashboard:account", "youtube"),
    ("dashboard:account", "tiktok"),
    ("dashboard:item", "youtube"),
    ("dashboard:item", "tiktok"),
    ("dashboard:connections", None),
    ("dashboard:connection_runs", None),
    ("dashboard:preferences", None),
]


@pytest.mark.parametrize(("name", "of"), CREATOR_PAGES)
@pytest.mark.parametrize("granularity", ["day", "reading"])
def test_query_count_does_not_grow_with_items(
    client, youtube_account, tiktok_account, name, of, granularity
):
    """No N+1: 2 items or 40 per account, the same number of queries."""
    from tests.dashboard.conftest import populate_counters

    client.force_login(youtube_account.owner)
    accounts = {"youtube": youtube_account, "tiktok": tiktok_account}

    def url():
        if of is None:
            return reverse(name)
        account = accounts[of]
        if name == "dashboard:item":
            return reverse(name, args=[account.items.order_by("pk").first().pk])
        return reverse(name, args=[account.pk])

    params = {"range": "2d" if granularity == "reading" else "28d"}
    params["granularity"] = granularity
    populate(youtube_account, items=2, days=5)
    populate_counters(tiktok_account, items=2, days=5)
    client.get(url(), params)  # warm per-process caches (sites, social apps)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(), params).status_code == 200
    populate(youtube_account, items=40, days=5)
    populate_counters(tiktok_account, items=40, days=5)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url(), params).status_code == 200
    assert len(many) == len(few)


def test_hourly_charts_show_every_reading_of_a_short_range(client, youtube_account):
    import datetime as dt

    from django.utils import timezone

    from platforms.services.storage import MetricValue, snapshots_upsert

    now = timezone.now().replace(minute=30)
    for hours_ago in (0, 1, 3):
        snapshots_upsert(
            account=youtube_account,
            values=[MetricValue("follower_count", 100 - hours_ago, "channels")],
            fetched_at=now - dt.timedelta(hours=hours_ago),
        )
    client.force_login(youtube_account.owner)
    url = reverse("dashboard:overview")
    hourly = client.get(url, {"range": "2d", "granularity": "hour", "csv": "followers"})
    assert len(hourly.content.decode().strip().splitlines()) - 1 == 3
    daily = client.get(url, {"range": "2d", "granularity": "day", "csv": "followers"})
    assert len(daily.content.decode().strip().splitlines()) - 1 <= 2
    readings = client.get(
        url, {"range": "2d", "granularity": "reading", "csv": "followers"}
    )
    assert [
        line.split(",")[2] for line in readings.content.decode().splitlines()[1:]
    ] == [
        "97",
        "99",
        "100",
    ]


def test_hourly_buckets_are_refused_for_long_ranges(client, creator, youtube_account):
    client.force_login(creator)
    response = client.get(
        reverse("dashboard:overview"), {"range": "90d", "granularity": "hour"}
    )
    assert "Hourly charts: at most 7 days" in response.content.decode()


def test_the_runs_fragment_shows_live_progress_to_its_owner_only(
    client, youtube_account, other_creator
):
    from platforms.models import CollectionRun

    CollectionRun.objects.create(
        account=youtube_account,
        kind="backfill",
        status="running",
        progress_done=30,
        progress_total=120,
    )
    url = reverse("dashboard:connection_runs")
    client.force_login(youtube_account.owner)
    html = client.get(url).content.decode()
    assert 'data-active="1"' in html
    assert "25% (30 of 120)" in html
    client.force_login(other_creator)
    html = client.get(url).content.decode()
    assert "30 of 120" not in html
    assert 'data-active="0"' in html


def figure_of(html: str, chart_id: str) -> dict:
    """The plotly figure a page embeds for one chart."""
    import json
    import re

    found = re.search(
        rf'<script id="chart-{chart_id}-data" type="application/json">(.*?)</script>',
        html,
        re.S,
    )
    assert found, f"no figure for {chart_id}"
    return json.loads(found.group(1))


def test_every_reading_draws_its_values_on_the_charts(client, youtube_account):
    import datetime as dt

    from django.utils import timezone

    from platforms.services.storage import MetricValue, snapshots_upsert

    now = timezone.now().replace(second=0, microsecond=0)
    for hours_ago, views in ((0, 1300), (2, 1100), (5, 1000)):
        snapshots_upsert(
            account=youtube_account,
            values=[
                MetricValue("follower_count", 200 - hours_ago, "youtube.channels"),
                MetricValue("view_count", views, "youtube.channels"),
            ],
            fetched_at=now - dt.timedelta(hours=hours_ago),
        )
    client.force_login(youtube_account.owner)
    params = {"range": "2d", "granularity": "reading"}
    account = client.get(
        reverse("dashboard:account", args=[youtube_account.pk]), params
    ).content.decode()
    (followers,) = figure_of(account, "followers")["data"]
    assert followers["y"] == [195, 198, 200]
    (growth,) = figure_of(account, "daily-views")["data"]
    assert growth["y"] == [100, 200]
    overview = client.get(reverse("dashboard:overview"), params).content.decode()
    (views,) = figure_of(overview, "views")["data"]
    assert views["y"] == [1000, 1100, 1300]
