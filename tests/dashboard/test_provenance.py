"""Every figure says where its values came from, read from the stored rows."""

from __future__ import annotations

import datetime as dt
import re

from django.urls import reverse
from django.utils import timezone

from dashboard.charts import time_series_figure
from platforms.models import ApiCallLog, ConnectedAccount, QuotaUsage
from platforms.quota import PACIFIC, next_reset, quota_day
from platforms.selectors import Point
from platforms.services.storage import MetricValue, snapshots_upsert
from tests.dashboard.test_views import figure_of


def chart_section(html: str, chart_id: str) -> str:
    found = re.search(
        rf'<section class="chart" aria-labelledby="title-{chart_id}">(.*?)</section>',
        html,
        re.S,
    )
    assert found, f"no section for {chart_id}"
    return found.group(1)


def shown(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def test_estimated_points_are_their_own_labelled_dotted_trace():
    day = dt.date(2026, 1, 1)
    points = [
        Point(1, day, 10, estimated=True),
        Point(1, day + dt.timedelta(days=1), 12, estimated=True),
        Point(1, day + dt.timedelta(days=2), 15),
    ]
    figure = time_series_figure(
        points,
        names={1: "@a"},
        start=day,
        end=day + dt.timedelta(days=2),
        granularity="day",
        title="Followers",
        y_title="followers",
    )
    measured, estimated = figure.data
    assert measured.name == "@a" and list(measured.y) == [None, None, 15]
    assert estimated.name == "@a (estimated)" and list(estimated.y) == [10, 12, None]
    assert estimated.line.dash == "dot"
    assert estimated.marker.symbol == "diamond-open"
    assert "(estimated)" in estimated.hovertemplate


def test_the_footnote_lists_the_stored_sources_fetched_range_and_estimate(
    client, instagram_account, youtube_account
):
    now = timezone.now().replace(microsecond=0)
    times = [now - dt.timedelta(days=d, hours=3) for d in (9, 4, 1)]
    for at, value, estimated in zip(
        times, (100, 150, 190), (False, True, True), strict=True
    ):
        snapshots_upsert(
            account=instagram_account,
            values=[
                MetricValue(
                    "view_count",
                    value,
                    "derived: sum of media views insights",
                    estimated=estimated,
                )
            ],
            fetched_at=at,
        )
    # A reading before the range: neither its source nor its time shows.
    snapshots_upsert(
        account=instagram_account,
        values=[MetricValue("view_count", 50, "graph.old_endpoint")],
        fetched_at=now - dt.timedelta(days=60),
    )
    snapshots_upsert(
        account=youtube_account,
        values=[MetricValue("view_count", 7000, "youtube.channels")],
        fetched_at=times[1],
    )
    client.force_login(instagram_account.owner)
    html = client.get(reverse("dashboard:overview")).content.decode()
    note = chart_section(html, "views")
    assert "derived: sum of media views insights" in note
    assert "youtube.channels" in note
    assert "graph.old_endpoint" not in note
    assert f'fetched <time datetime="{times[0].isoformat()}">{shown(times[0])}' in (
        note
    )
    assert shown(times[2]) in note
    assert "includes estimated values" in note
    traces = {t["name"]: t for t in figure_of(html, "views")["data"]}
    estimated = traces["Instagram · @insta (estimated)"]
    assert [y for y in estimated["y"] if y is not None] == [150, 190]
    assert [y for y in traces["Instagram · @insta"]["y"] if y is not None] == [100]
    assert "derived: sum of media views insights" in estimated["hovertemplate"]

    # The YouTube account alone: measured values only, so no estimate marker.
    instagram_account.status = ConnectedAccount.Status.DISCONNECTED
    instagram_account.save()
    note = chart_section(
        client.get(reverse("dashboard:overview")).content.decode(), "views"
    )
    assert "youtube.channels" in note
    assert "derived: sum of media views insights" not in note
    assert "includes estimated values" not in note


def test_a_csv_marks_estimated_rows(client, instagram_account):
    now = timezone.now()
    snapshots_upsert(
        account=instagram_account,
        values=[MetricValue("view_count", 10, "derived", estimated=True)],
        fetched_at=now - dt.timedelta(hours=1),
    )
    client.force_login(instagram_account.owner)
    csv = client.get(reverse("dashboard:overview"), {"csv": "views"}).content.decode()
    assert csv.splitlines()[1].endswith(",10,estimated")


def test_the_engagement_hover_shows_percent_like_its_axis(client, populated_account):
    client.force_login(populated_account.owner)
    html = client.get(
        reverse("dashboard:account", args=[populated_account.pk])
    ).content.decode()
    figure = figure_of(html, "engagement")
    assert figure["layout"]["yaxis"]["tickformat"] == ".1%"
    assert all("%{y:.2%}" in t["hovertemplate"] for t in figure["data"])


def test_staff_charts_name_the_call_log_and_ledger_as_their_source(
    client, staff_user, time_machine
):
    # Midday Pacific: the calls 40 minutes back are of today's quota day
    # (just after midnight Pacific they would belong to yesterday's).
    now = dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC)
    time_machine.move_to(now, tick=False)
    QuotaUsage.objects.create(
        platform="youtube",
        project="p1",
        day=quota_day(now, PACIFIC),
        units_used=3,
        limit=10000,
        resets_at=next_reset(now, PACIFIC),
    )
    first = now - dt.timedelta(minutes=40)
    for minutes, cost in ((40, 1), (10, 2)):
        ApiCallLog.objects.create(
            platform="youtube",
            endpoint="youtube.videos",
            method="GET",
            status_code=200,
            latency_ms=20,
            quota_cost=cost,
            project="p1",
            created_at=now - dt.timedelta(minutes=minutes),
        )
    client.force_login(staff_user)
    quota = client.get(reverse("dashboard:staff-quota")).content.decode()
    assert "API call log (platforms_apicalllog)" in quota
    assert "quota ledger (platforms_quotausage)" in quota
    assert shown(first) in quota
    health = client.get(reverse("dashboard:staff-api-health")).content.decode()
    assert "API call log (platforms_apicalllog)" in health
    assert shown(first) in health
