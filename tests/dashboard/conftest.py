import datetime as dt

import pytest
from django.utils import timezone

from platforms.models import ContentItem
from platforms.services.storage import (
    DistributionData,
    ItemData,
    MetricValue,
    daily_values_upsert,
    distributions_upsert,
    items_upsert,
    snapshots_upsert,
)


def populate(account, *, items: int = 5, days: int = 30):
    """Give `account` items with daily values and counters over `days` days."""
    now = timezone.now()
    today = now.date()
    data = [
        ItemData(
            platform_item_id=f"{account.pk}-v{i}",
            kind=ContentItem.Kind.VIDEO,
            title=f"Video {i} — تجربة 🎬",
            published_at=now - dt.timedelta(days=i * 3),
            url=f"https://www.youtube.com/watch?v=v{i}",
        )
        for i in range(items)
    ]
    ids = items_upsert(account=account, items=data, seen_at=now)
    daily = [
        MetricValue(
            metric,
            (i + 1) * base + d,
            "youtubeAnalytics.reports",
            item_id=pk,
            day=today - dt.timedelta(days=d),
        )
        for i, pk in enumerate(ids.values())
        for d in range(days)
        for metric, base in (
            ("view_count", 100),
            ("like_count", 5),
            ("comment_count", 1),
        )
    ]
    daily += [
        MetricValue(
            "view_count",
            500 + d,
            "youtubeAnalytics.reports",
            day=today - dt.timedelta(days=d),
        )
        for d in range(days)
    ]
    daily_values_upsert(account=account, values=daily, fetched_at=now)
    for d in range(0, days, 7):
        at = now - dt.timedelta(days=d)
        values = [
            MetricValue("follower_count", 1000 - d, "youtube.channels"),
            MetricValue("view_count", 90_000 - d * 10, "youtube.channels"),
        ] + [
            MetricValue(
                "view_count", 10_000 * (i + 1) - d, "youtube.videos", item_id=pk
            )
            for i, pk in enumerate(ids.values())
        ]
        snapshots_upsert(account=account, values=values, fetched_at=at)
    first = next(iter(ids.values()))
    country = DistributionData(
        kind="country",
        day=today,
        item_id=first,
        data=[{"key": "US", "value": 0.5}, {"key": "DE", "value": 0.2}],
        source="youtubeAnalytics.reports",
    )
    distributions_upsert(account=account, distributions=[country], fetched_at=now)
    return ids


@pytest.fixture
def populated_account(youtube_account):
    populate(youtube_account)
    return youtube_account
