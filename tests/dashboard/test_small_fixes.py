"""Links keep their filters, tables sort every way, numbers speak."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re

from django.urls import reverse
from django.utils import timezone

from dashboard.models import CreatorProfile
from platforms.models import ApiCallLog, ErrorLog, QuotaUsage
from platforms.quota import PACIFIC, next_reset, quota_day
from tests.dashboard.conftest import populate, populate_counters


def _links(html: str, label: str) -> list[str]:
    return [
        htmllib.unescape(href)
        for href in re.findall(rf'<a href="([^"]*)"[^>]*>{label}\b', html)
    ]


def _titles(response) -> list[str]:
    return [item.title for item in response.context["top"]]


def test_top_content_links_keep_the_range_and_sort_every_column(client, tiktok_account):
    populate_counters(tiktok_account, items=30, days=1)
    client.force_login(tiktok_account.owner)
    url = reverse("dashboard:account", args=[tiktok_account.pk])
    params = {"range": "7d", "granularity": "week", "sort": "likes"}
    response = client.get(url, params)
    html = response.content.decode()
    # Clip i has (101)·(i + 1) likes: most first, then reversed.
    assert _titles(response)[:2] == ["Clip 29", "Clip 28"]
    (likes,) = _links(html, "Likes")
    assert likes == "?range=7d&granularity=week&sort=-likes"
    (title,) = _links(html, "Title")
    assert title == "?range=7d&granularity=week&sort=title"
    assert 'aria-sort="descending"><a href="?range=7d&amp;granularity=week' in html
    (following,) = _links(html, "Next")
    assert following == "?range=7d&granularity=week&sort=likes&page=2"
    second = client.get(url, {**params, "page": 2})
    (previous,) = _links(second.content.decode(), "Previous")
    assert previous == "?range=7d&granularity=week&sort=likes&page=1"

    fewest = client.get(url, {"sort": "-likes"})
    assert _titles(fewest)[:2] == ["Clip 0", "Clip 1"]
    # The fresh clip has no counters yet: last in either direction.
    assert _titles(fewest)[-1] != "Fresh clip"
    assert _titles(client.get(url, {"sort": "likes", "page": 2}))[-1] == "Fresh clip"
    assert _titles(client.get(url, {"sort": "-likes", "page": 2}))[-1] == ("Fresh clip")
    by_title = _titles(client.get(url, {"sort": "title"}))
    assert by_title == sorted(by_title)
    reverse_title = client.get(url, {"sort": "-title"})
    assert _titles(reverse_title) == sorted(_titles(reverse_title), reverse=True)
    assert 'aria-sort="descending"' in reverse_title.content.decode()
    comments = client.get(url, {"sort": "comments"})
    assert [item.comments for item in comments.context["top"]][:1] == [11]


def test_the_error_pager_keeps_the_filters(client, staff_user, youtube_account):
    ErrorLog.objects.bulk_create(
        ErrorLog(platform="youtube", error_class="api", message=f"boom {n}")
        for n in range(55)
    )
    ErrorLog.objects.create(platform="tiktok", error_class="api", message="other")
    client.force_login(staff_user)
    html = client.get(
        reverse("dashboard:staff-errors"),
        {"platform": "youtube", "class": "api", "days": "1"},
    ).content.decode()
    (following,) = _links(html, "Next")
    assert following == "?platform=youtube&class=api&days=1&page=2"
    second = client.get(reverse("dashboard:staff-errors") + following)
    assert "other" not in second.content.decode()
    assert len(second.context["page"]) == 5


def test_quota_history_is_by_day_and_each_project_has_its_own_split(client, staff_user):
    now = timezone.now()
    today = quota_day(now, PACIFIC)
    for days_back in (0, 1, 40):
        for project in ("p1", "p2", "p3", "p4"):
            QuotaUsage.objects.create(
                platform="youtube",
                project=project,
                day=today - dt.timedelta(days=days_back),
                units_used=10,
                limit=10000,
                resets_at=next_reset(now, PACIFIC),
            )
    ApiCallLog.objects.bulk_create(
        ApiCallLog(
            platform="youtube",
            endpoint=endpoint,
            method="GET",
            status_code=200,
            quota_cost=cost,
            project=project,
        )
        for project, endpoint, cost in (
            ("p1", "youtube.videos", 7),
            ("p1", "youtube.videos", 3),
            ("p2", "youtube.analytics.reports", 50),
            ("p2", "youtube.videos", 0),  # a 304 from the ETag cache: no units
        )
    )
    client.force_login(staff_user)
    response = client.get(reverse("dashboard:staff-quota"))
    history = list(response.context["history"])
    # Past days only (today is the cards above), four projects a day;
    # nothing from 40 days back.
    assert len(history) == 4
    assert {row.day for row in history} == {today - dt.timedelta(days=1)}
    splits = {
        status.row.project: status.by_operation
        for status, _chart, _provenance in response.context["statuses"]
    }
    assert splits == {
        "p1": [("youtube.videos", 10)],
        "p2": [("youtube.analytics.reports", 50)],
        "p3": [],
        "p4": [],
    }


def test_changes_are_spoken_and_the_item_page_names_its_time_zone(
    client, youtube_account
):
    populate(youtube_account, items=3, days=30)
    CreatorProfile.objects.create(user=youtube_account.owner, time_zone="Asia/Tokyo")
    client.force_login(youtube_account.owner)
    html = client.get(reverse("dashboard:overview"), {"range": "7d"}).content.decode()
    assert re.search(
        r'<span aria-hidden="true">▲ [\d.]+%</span>'
        r'<span class="visually-hidden">up [\d.]+% vs the previous period</span>',
        html,
    )
    assert re.search(
        r'<span class="visually-hidden">down [\d.]+ percentage points vs the '
        r"previous period</span>",
        html,
    )
    item = youtube_account.items.first()
    page = client.get(reverse("dashboard:item", args=[item.pk])).content.decode()
    assert "· Asia/Tokyo" in page
