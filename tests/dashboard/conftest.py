import datetime as dt

import pytest
from django.utils import timezone

from platforms.models import ConnectedAccount, ContentItem, Platform
from platforms.services.storage import (
    DistributionData,
    ItemData,
    MetricValue,
    daily_values_upsert,
    distributions_upsert,
    item_totals_upsert,
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
    # The channel's own day rows, as YouTube's channel report gives them:
    # the sum over its videos.
    channel: dict[tuple[str, dt.date], int] = {}
    for value in daily:
        key = (value.metric, value.day)
        channel[key] = channel.get(key, 0) + value.value
    daily += [
        MetricValue(metric, total, "youtubeAnalytics.reports", day=day)
        for (metric, day), total in channel.items()
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
        item_totals_upsert(account=account, fetched_at=at)  # as a run ends
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


def populate_counters(account, *, items: int = 3, days: int = 20, scale: int = 1):
    """Counters only, the TikTok / Instagram way: one reading a day, no day values.

    Item i gains 10·(i+1)·scale views, (i+1)·scale likes and scale comments a
    day; the account gains 5 followers and 60·scale views a day. One more
    item, published 3 days ago, has no readings yet.
    """
    now = timezone.now()
    data = [
        ItemData(
            platform_item_id=f"{account.pk}-c{i}",
            kind=ContentItem.Kind.VIDEO,
            title=f"Clip {i}",
            published_at=now - dt.timedelta(days=days + 30),
        )
        for i in range(items)
    ] + [
        ItemData(
            platform_item_id=f"{account.pk}-fresh",
            kind=ContentItem.Kind.VIDEO,
            title="Fresh clip",
            published_at=now - dt.timedelta(days=3),
        )
    ]
    ids = items_upsert(account=account, items=data, seen_at=now)
    pks = [ids[f"{account.pk}-c{i}"] for i in range(items)]
    source = f"{account.platform}.media"
    for d in range(days + 1):
        grown = days - d
        values = [
            MetricValue("follower_count", 500 + 5 * grown, f"{account.platform}.user"),
            MetricValue(
                "view_count", 50_000 + 60 * scale * grown, f"{account.platform}.user"
            ),
        ]
        for i, pk in enumerate(pks):
            n = i + 1
            values += [
                MetricValue(
                    "view_count", (1000 + 10 * grown) * n * scale, source, item_id=pk
                ),
                MetricValue(
                    "like_count", (100 + grown) * n * scale, source, item_id=pk
                ),
                MetricValue("comment_count", (10 + grown) * scale, source, item_id=pk),
            ]
        at = now - dt.timedelta(days=d)
        snapshots_upsert(account=account, values=values, fetched_at=at)
        item_totals_upsert(account=account, fetched_at=at)  # as a run ends
    return pks


@pytest.fixture
def populated_account(youtube_account):
    populate(youtube_account)
    return youtube_account


@pytest.fixture
def tiktok_account(creator):
    return ConnectedAccount.objects.create(
        owner=creator,
        platform=Platform.TIKTOK,
        platform_user_id="tiktok-open-id-0001",
        handle="@tok",
    )


@pytest.fixture
def instagram_account(creator):
    return ConnectedAccount.objects.create(
        owner=creator,
        platform=Platform.INSTAGRAM,
        platform_user_id="17841400000000001",
        handle="@insta",
    )
