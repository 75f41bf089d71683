"""Selectors aggregate in SQL and leave gaps where nothing was stored."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.http import Http404

from platforms import selectors
from platforms.services.storage import (
    ItemData,
    MetricValue,
    daily_values_upsert,
    items_upsert,
    snapshots_upsert,
)

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def item_ids(youtube_account):
    items = [ItemData(platform_item_id=f"v{i}", kind="video") for i in range(3)]
    return items_upsert(account=youtube_account, items=items, seen_at=T0)


def test_it_sums_item_days_per_week(youtube_account, item_ids):
    values = [
        MetricValue(
            "view_count",
            10 * (i + 1),
            "reports",
            item_id=pk,
            day=dt.date(2026, 3, 2) + dt.timedelta(days=d),
        )
        for i, pk in enumerate(item_ids.values())
        for d in range(7)
    ]
    daily_values_upsert(account=youtube_account, values=values, fetched_at=T0)
    weekly = selectors.item_daily_totals(
        account_ids=[youtube_account.pk],
        metric="view_count",
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 3, 31),
        granularity="week",
    )
    assert [(p.bucket, p.value) for p in weekly.points] == [(dt.date(2026, 3, 2), 420)]


def test_it_leaves_out_missing_values(youtube_account):
    daily_values_upsert(
        account=youtube_account,
        values=[
            MetricValue("follower_gain", 5, "reports", day=dt.date(2026, 3, 1)),
            MetricValue(
                "follower_gain", None, "reports", "lag", day=dt.date(2026, 3, 2)
            ),
        ],
        fetched_at=T0,
    )
    series = selectors.daily_series(
        account_ids=[youtube_account.pk],
        metric="follower_gain",
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 3, 3),
    )
    assert [(p.bucket, p.value) for p in series.points] == [(dt.date(2026, 3, 1), 5)]


def test_snapshot_days_are_cut_in_the_creators_time_zone(youtube_account):
    # 03:00 UTC on 2 March is still 1 March in Los Angeles.
    for at, value in ((T0, 100), (T0.replace(day=2, hour=3), 150)):
        snapshots_upsert(
            account=youtube_account,
            values=[MetricValue("follower_count", value, "channels")],
            fetched_at=at,
        )
    series = selectors.snapshot_series(
        account_ids=[youtube_account.pk],
        metric="follower_count",
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 3, 2),
        tz=ZoneInfo("America/Los_Angeles"),
    )
    assert [(p.bucket, p.value) for p in series.points] == [(dt.date(2026, 3, 1), 150)]


def test_latest_values_per_item(youtube_account, item_ids):
    for hour, base in ((0, 1), (5, 100)):
        snapshots_upsert(
            account=youtube_account,
            values=[
                MetricValue("view_count", base + i, "videos", item_id=pk)
                for i, pk in enumerate(item_ids.values())
            ],
            fetched_at=T0 + dt.timedelta(hours=hour),
        )
    latest = selectors.latest_snapshot_values(
        account_ids=[youtube_account.pk],
        metric="view_count",
        item_ids=list(item_ids.values()),
    )
    assert sorted(latest.values()) == [100, 101, 102]


def test_another_creators_account_is_404(youtube_account, other_creator):
    with pytest.raises(Http404):
        selectors.account_get_for_user(
            user=other_creator, account_id=youtube_account.pk
        )


def test_follower_history_before_the_first_reading_is_estimated_from_gains(
    youtube_account,
):
    anchor = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    snapshots_upsert(
        account=youtube_account,
        values=[MetricValue("follower_count", 1000, "channels")],
        fetched_at=anchor,
    )
    daily_values_upsert(
        account=youtube_account,
        values=[
            MetricValue("follower_gain", 10, "reports", day=dt.date(2026, 3, 9)),
            MetricValue("follower_loss", 2, "reports", day=dt.date(2026, 3, 9)),
            MetricValue("follower_gain", 5, "reports", day=dt.date(2026, 3, 8)),
        ],
        fetched_at=anchor,
    )
    estimate = selectors.follower_history_estimate(
        account_ids=[youtube_account.pk],
        start=dt.date(2026, 3, 7),
        end=dt.date(2026, 3, 10),
        tz=ZoneInfo("UTC"),
    )
    assert [(p.bucket.day, p.value) for p in estimate.points] == [
        (7, 987),
        (8, 992),
        (9, 1000),
    ]
