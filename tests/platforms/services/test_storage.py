"""Idempotent storage: re-running a collection changes nothing."""

import datetime as dt

import pytest
from django.utils import timezone

from platforms.models import ContentItem, DailyMetric, Distribution, MetricSnapshot
from platforms.services.storage import (
    DistributionData,
    ItemData,
    MetricValue,
    daily_values_upsert,
    distributions_upsert,
    items_mark_unavailable,
    items_upsert,
    snapshots_upsert,
)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _items(n):
    return [
        ItemData(platform_item_id=f"v{i}", kind="video", title=f"Video {i} 👩‍👩‍👧")
        for i in range(n)
    ]


def test_it_inserts_items_once_and_returns_their_ids(youtube_account):
    ids = items_upsert(account=youtube_account, items=_items(3), seen_at=NOW)
    again = items_upsert(account=youtube_account, items=_items(3), seen_at=NOW)
    assert ids == again
    assert ContentItem.objects.filter(account=youtube_account).count() == 3
    assert ContentItem.objects.get(platform_item_id="v1").title == "Video 1 👩‍👩‍👧"


def test_it_deduplicates_items_within_one_call(youtube_account):
    items = _items(2) + _items(2)
    items_upsert(account=youtube_account, items=items, seen_at=NOW)
    assert ContentItem.objects.count() == 2


def test_it_makes_a_returning_item_available_again(youtube_account):
    items_upsert(account=youtube_account, items=_items(1), seen_at=NOW)
    items_mark_unavailable(
        account=youtube_account,
        platform_item_ids=["v0"],
        availability=ContentItem.Availability.PRIVATE,
        since=NOW,
    )
    assert ContentItem.objects.get().availability == "private"
    items_upsert(account=youtube_account, items=_items(1), seen_at=NOW)
    assert ContentItem.objects.get().availability == "available"


def test_it_upserts_snapshots_without_duplicates(youtube_account):
    ids = items_upsert(account=youtube_account, items=_items(2), seen_at=NOW)
    values = [
        MetricValue("follower_count", 1200, "channels"),
        MetricValue("view_count", 2**40, "videos", item_id=ids["v0"]),
        MetricValue("like_count", None, "videos", "likes hidden", item_id=ids["v1"]),
    ]
    snapshots_upsert(account=youtube_account, values=values, fetched_at=NOW)
    snapshots_upsert(account=youtube_account, values=values, fetched_at=NOW)
    assert MetricSnapshot.objects.count() == 3
    hidden = MetricSnapshot.objects.get(metric="like_count")
    assert hidden.value is None
    assert hidden.missing_reason == "likes hidden"
    assert MetricSnapshot.objects.get(metric="view_count").value == 2**40


def test_a_missing_value_never_overwrites_a_stored_number(youtube_account):
    day = dt.date(2026, 5, 31)
    daily_values_upsert(
        account=youtube_account,
        values=[MetricValue("views", 10, "reports", day=day)],
        fetched_at=NOW,
    )
    daily_values_upsert(
        account=youtube_account,
        values=[MetricValue("views", None, "reports", "no rows", day=day)],
        fetched_at=NOW + dt.timedelta(hours=1),
    )
    row = DailyMetric.objects.get()
    assert row.value == 10
    assert row.missing_reason == ""


def test_a_later_fetch_revises_a_daily_value(youtube_account):
    day = dt.date(2026, 5, 31)
    for value in (10, 12.5):
        daily_values_upsert(
            account=youtube_account,
            values=[MetricValue("watch_time", value, "reports", day=day)],
            fetched_at=timezone.now(),
        )
    row = DailyMetric.objects.get()
    assert row.value_float == 12.5
    assert row.value_int is None


def test_it_upserts_distributions(youtube_account):
    dist = DistributionData(
        kind="country", day=dt.date(2026, 5, 31), data=[{"key": "DE", "value": 0.4}]
    )
    for _ in range(2):
        distributions_upsert(
            account=youtube_account, distributions=[dist], fetched_at=NOW
        )
    assert Distribution.objects.get().data == [{"key": "DE", "value": 0.4}]


@pytest.mark.parametrize("count", [1, 1201])
def test_it_writes_in_batches(youtube_account, count):
    ids = items_upsert(account=youtube_account, items=_items(count), seen_at=NOW)
    values = [
        MetricValue("view_count", i, "videos", item_id=ids[f"v{i}"])
        for i in range(count)
    ]
    assert (
        snapshots_upsert(account=youtube_account, values=values, fetched_at=NOW)
        == count
    )
    assert MetricSnapshot.objects.count() == count
