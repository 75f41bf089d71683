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
    kwargs = {
        "account_ids": [youtube_account.pk],
        "metrics": ["view_count", "like_count"],
        "start": dt.date(2026, 3, 1),
        "end": dt.date(2026, 3, 31),
        "granularity": "week",
    }
    weekly = selectors.daily_series_by_metric(**kwargs, level="items")
    assert [(p.bucket, p.value) for p in weekly["view_count"].points] == [
        (dt.date(2026, 3, 2), 420)
    ]
    assert weekly["view_count"].provenance.sources == ("reports",)
    assert not weekly["like_count"]
    # The channel itself has no day rows: nothing at account level.
    assert not selectors.daily_series_by_metric(**kwargs)["view_count"]


def test_an_anchor_keeps_each_accounts_metrics_at_one_level(
    youtube_account, tiktok_account
):
    day = dt.date(2026, 3, 2)
    daily_values_upsert(
        account=youtube_account,
        values=[
            MetricValue("view_count", 100, "channel", day=day),
            MetricValue("like_count", 7, "channel", day=day),
        ],
        fetched_at=T0,
    )
    # Likes without views: this account's views are to come from elsewhere,
    # and so must its likes.
    daily_values_upsert(
        account=tiktok_account,
        values=[MetricValue("like_count", 3, "business", day=day)],
        fetched_at=T0,
    )
    kwargs = {
        "account_ids": [youtube_account.pk, tiktok_account.pk],
        "metrics": ["view_count", "like_count"],
        "start": day,
        "end": day,
    }
    anchored = selectors.daily_series_by_metric(**kwargs, anchor="view_count")
    assert [(p.account_id, p.value) for p in anchored["like_count"].points] == [
        (youtube_account.pk, 7)
    ]
    assert anchored["like_count"].provenance.sources == ("channel",)
    totals = selectors.daily_totals_by_account(**kwargs, anchor="view_count")
    assert totals == {
        (youtube_account.pk, "view_count"): 100,
        (youtube_account.pk, "like_count"): 7,
    }
    free = selectors.daily_series_by_metric(**kwargs)
    assert {p.account_id for p in free["like_count"].points} == {
        youtube_account.pk,
        tiktok_account.pk,
    }


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


def _read(account, at, values):
    """One collection run's readings: {metric or (metric, item pk): value}."""
    snapshots_upsert(
        account=account,
        values=[
            MetricValue(key[0], value, "tiktok.video.list", item_id=key[1])
            if isinstance(key, tuple)
            else MetricValue(key, value, "tiktok.user.info")
            for key, value in values.items()
        ],
        fetched_at=at,
    )


@pytest.fixture
def tiktok_items(tiktok_account):
    items = [
        ItemData(
            platform_item_id="old",
            kind="video",
            published_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        ),
        ItemData(
            platform_item_id="new",
            kind="video",
            published_at=dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC),
        ),
    ]
    ids = items_upsert(account=tiktok_account, items=items, seen_at=T0)
    return ids["old"], ids["new"]


def test_per_period_values_are_derived_from_item_readings_in_sql(
    tiktok_account, tiktok_items
):
    old, new = tiktok_items
    day = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    _read(tiktok_account, day, {("view_count", old): 100})
    _read(tiktok_account, day.replace(hour=20), {("view_count", old): 120})
    _read(
        tiktok_account,
        day + dt.timedelta(days=1),
        {("view_count", old): 150, ("view_count", new): 30},
    )
    _read(tiktok_account, day + dt.timedelta(days=2), {("view_count", new): 50})
    _read(tiktok_account, day + dt.timedelta(days=3), {("view_count", old): 200})
    _read(tiktok_account, day + dt.timedelta(days=4), {("view_count", old): 260})
    series = selectors.snapshot_deltas(
        account_ids=[tiktok_account.pk],
        metric="view_count",
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 3, 5),
        tz=ZoneInfo("UTC"),
    )
    assert [(p.bucket.day, p.value) for p in series.points] == [
        # 2 March: the old video grew 150 - 120 (the day's last reading), the
        # new one was published that day and counts whole.
        (2, 60),
        (3, 20),
        # 4 March: the old video's last reading was on 2 March, two days
        # back: its growth belongs to no single day, so a gap.
        (5, 60),
    ]
    assert series.provenance.sources == ("tiktok.video.list",)
    assert series.provenance.derived.startswith("derived from readings")
    assert series.provenance.first_fetched == day
    assert series.provenance.last_fetched == day + dt.timedelta(days=4)


def test_derived_deltas_by_week_by_hour_and_by_reading(tiktok_account, tiktok_items):
    old, _ = tiktok_items
    berlin = ZoneInfo("Europe/Berlin")
    monday = dt.datetime(2026, 3, 2, 9, tzinfo=berlin)
    for days, hours, views in ((0, 0, 10), (0, 1, 15), (0, 2, 25), (7, 0, 60)):
        at = monday + dt.timedelta(days=days, hours=hours)
        _read(tiktok_account, at, {("view_count", old): views, "follower_count": views})
    weekly = selectors.snapshot_deltas(
        account_ids=[tiktok_account.pk],
        metric="view_count",
        start=dt.date(2026, 3, 9),
        end=dt.date(2026, 3, 15),
        tz=berlin,
        granularity="week",
    )
    assert [(p.bucket, p.value) for p in weekly.points] == [(dt.date(2026, 3, 9), 35)]
    hourly = selectors.snapshot_deltas(
        account_ids=[tiktok_account.pk],
        metric="view_count",
        start=dt.date(2026, 3, 2),
        end=dt.date(2026, 3, 2),
        tz=berlin,
        granularity="hour",
    )
    assert [(p.bucket.hour, p.value) for p in hourly.points] == [(10, 5), (11, 10)]
    readings = selectors.snapshot_deltas(
        account_ids=[tiktok_account.pk],
        metric="follower_count",
        start=dt.date(2026, 3, 2),
        end=dt.date(2026, 3, 9),
        tz=berlin,
        granularity="reading",
        level="account",
    )
    assert [(p.bucket.day, p.bucket.hour, p.value) for p in readings.points] == [
        (2, 10, 5),
        (2, 11, 10),
        (9, 9, 35),
    ]


def test_counter_growth_over_a_period(tiktok_account, tiktok_items):
    old, new = tiktok_items
    start = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    end = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)
    _read(tiktok_account, start - dt.timedelta(hours=2), {("view_count", old): 100})
    _read(
        tiktok_account,
        start + dt.timedelta(days=2),
        {("view_count", old): 130, ("view_count", new): 40},
    )
    _read(
        tiktok_account,
        end - dt.timedelta(hours=1),
        {("view_count", old): 150, ("view_count", new): 70},
    )
    _read(tiktok_account, end + dt.timedelta(hours=1), {("view_count", old): 999})
    growth = selectors.counter_growth(
        account_ids=[tiktok_account.pk],
        metrics=["view_count", "like_count"],
        start=start,
        end=end,
        level="items",
    )
    # old: 150 - 100; new was published within the period: 70 - 0.
    assert growth == {(tiktok_account.pk, "view_count"): 120}
    before = selectors.counter_growth(
        account_ids=[tiktok_account.pk],
        metrics=["view_count"],
        start=start - dt.timedelta(days=4),
        end=start,
        level="items",
    )
    assert before == {}  # no reading at the period's start: unknown, not 0


def test_account_views_per_period_leave_a_gap_where_a_reading_is_missing(
    youtube_account,
):
    for day, views in ((1, 100), (2, 130), (4, 200), (5, 260)):
        at = dt.datetime(2026, 1, day, 18, tzinfo=dt.UTC)
        _read(youtube_account, at, {"view_count": views})
    series = selectors.snapshot_deltas(
        account_ids=[youtube_account.pk],
        metric="view_count",
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 1, 5),
        tz=ZoneInfo("UTC"),
        level="account",
    )
    assert [(p.bucket.day, p.value) for p in series.points] == [(2, 30), (5, 60)]
    readings = selectors.snapshot_deltas(
        account_ids=[youtube_account.pk],
        metric="view_count",
        start=dt.date(2026, 1, 4),
        end=dt.date(2026, 1, 5),
        tz=ZoneInfo("UTC"),
        granularity="reading",
        level="account",
    )
    assert [(p.bucket.day, p.value) for p in readings.points] == [(4, 70), (5, 60)]


def test_utc_offsets_of_a_range_switch_at_the_dst_transitions():
    from platforms.buckets import offsets

    berlin = ZoneInfo("Europe/Berlin")
    spans = offsets(
        berlin,
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )
    assert spans == [
        (dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC), 60),
        (dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC), 120),
        (None, 60),
    ]


def test_buckets_are_cut_in_local_time_across_a_dst_change(youtube_account):
    berlin = ZoneInfo("Europe/Berlin")
    # Every UTC hour from local midnight 29 March (a 23-hour day) to 31 March.
    first = dt.datetime(2026, 3, 29, tzinfo=berlin).astimezone(dt.UTC)
    for hour in range(47):
        _read(youtube_account, first + dt.timedelta(hours=hour), {"view_count": hour})
    kwargs = {
        "account_ids": [youtube_account.pk],
        "metric": "view_count",
        "start": dt.date(2026, 3, 29),
        "end": dt.date(2026, 3, 30),
        "tz": berlin,
    }
    days = selectors.snapshot_series(**kwargs)
    # 29 March ends after 23 readings (0..22); 30 March holds the other 24.
    assert [(p.bucket, p.value) for p in days.points] == [
        (dt.date(2026, 3, 29), 22),
        (dt.date(2026, 3, 30), 46),
    ]
    hours = selectors.snapshot_series(**kwargs, granularity="hour")
    assert len(hours.points) == 47
    assert [p.bucket.hour for p in hours.points[:4]] == [0, 1, 3, 4]
    assert all(p.bucket.tzinfo == berlin for p in hours.points)
    growth = selectors.snapshot_deltas(**kwargs, granularity="hour", level="account")
    assert {p.value for p in growth.points} == {1}
    assert growth.points[0].bucket.hour == 1  # midnight's reading has none before


@pytest.mark.parametrize("granularity", ["day", "week"])
def test_one_items_first_period_counts_whole_without_a_period_before(
    tiktok_account, tiktok_items, granularity
):
    # A video published on 2 March and read twice that day: on its own page
    # its first period is its views so far. Summed over the account's items
    # the same bucket needs the old items' deltas too, so there it is a gap.
    old, new = tiktok_items
    for hours, views in ((10, 30), (20, 45)):
        at = dt.datetime(2026, 3, 2, hours, tzinfo=dt.UTC)
        _read(tiktok_account, at, {("view_count", new): views})
    asked = {
        "account_ids": [tiktok_account.pk],
        "metric": "view_count",
        "start": dt.date(2026, 3, 2),
        "end": dt.date(2026, 3, 3),
        "tz": ZoneInfo("UTC"),
        "granularity": granularity,
    }
    own = selectors.snapshot_deltas(**asked, item_id=new)
    assert [(p.bucket, p.value) for p in own.points] == [(dt.date(2026, 3, 2), 45)]
    assert selectors.snapshot_deltas(**asked).points == []
