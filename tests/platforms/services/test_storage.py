"""Idempotent storage: re-running a collection changes nothing."""

import datetime as dt

import pytest
from django.utils import timezone

from platforms.models import (
    ITEM_TOTAL_METRICS,
    ContentItem,
    DailyMetric,
    Distribution,
    MetricSnapshot,
)
from platforms.services.storage import (
    DistributionData,
    ItemData,
    MetricValue,
    daily_values_upsert,
    distributions_upsert,
    item_totals_upsert,
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


def _read(account, at, values, source="tiktok.video.list"):
    snapshots_upsert(
        account=account,
        values=[
            MetricValue(metric, value, source, "not returned", item_id=pk)
            for (metric, pk), value in values.items()
        ],
        fetched_at=at,
    )


def _totals(account, at):
    return {
        row.metric: row
        for row in MetricSnapshot.objects.filter(
            account=account, item__isnull=True, fetched_at=at
        )
    }


def test_item_totals_sum_each_items_newest_reading(youtube_account):
    ids = items_upsert(account=youtube_account, items=_items(2), seen_at=NOW)
    v0, v1 = ids["v0"], ids["v1"]
    later = NOW + dt.timedelta(days=1)
    _read(youtube_account, NOW, {("view_count", v0): 100, ("view_count", v1): 10})
    _read(youtube_account, later, {("view_count", v0): 150}, "tiktok.video.query")
    # v1's like count was not returned: missing, and no number to sum.
    _read(youtube_account, later, {("like_count", v1): None})
    assert item_totals_upsert(account=youtube_account, fetched_at=NOW) == 4
    assert item_totals_upsert(account=youtube_account, fetched_at=later) == 4

    first, second = _totals(youtube_account, NOW), _totals(youtube_account, later)
    assert set(second) == set(ITEM_TOTAL_METRICS.values())
    views = second["items.view_count"]
    assert (views.value_int, views.value_float) == (160, None)
    assert views.source == (
        "derived: sum of items' latest readings (tiktok.video.list, tiktok.video.query)"
    )
    # v1 is still listed but was last read before this run: an estimate.
    assert views.estimated
    assert first["items.view_count"].value == 110
    assert not first["items.view_count"].estimated
    likes = second["items.like_count"]
    assert likes.value is None
    assert likes.missing_reason == "no item of the account has a like_count reading"


def test_item_totals_are_idempotent_and_never_read_the_future(youtube_account):
    ids = items_upsert(account=youtube_account, items=_items(1), seen_at=NOW)
    _read(youtube_account, NOW, {("view_count", ids["v0"]): 100})
    _read(
        youtube_account, NOW + dt.timedelta(hours=1), {("view_count", ids["v0"]): 999}
    )
    item_totals_upsert(account=youtube_account, fetched_at=NOW)
    count = MetricSnapshot.objects.count()
    item_totals_upsert(account=youtube_account, fetched_at=NOW)
    assert MetricSnapshot.objects.count() == count
    assert _totals(youtube_account, NOW)["items.view_count"].value == 100


def test_an_unlisted_item_keeps_its_last_count_without_making_an_estimate(
    youtube_account,
):
    ids = items_upsert(account=youtube_account, items=_items(2), seen_at=NOW)
    later = NOW + dt.timedelta(days=1)
    _read(
        youtube_account,
        NOW,
        {("view_count", ids["v0"]): 100, ("view_count", ids["v1"]): 7},
    )
    items_mark_unavailable(
        account=youtube_account,
        platform_item_ids=["v1"],
        availability=ContentItem.Availability.DELETED,
        since=later,
    )
    _read(youtube_account, later, {("view_count", ids["v0"]): 130})
    item_totals_upsert(account=youtube_account, fetched_at=later)
    views = _totals(youtube_account, later)["items.view_count"]
    assert views.value == 137  # the deleted video's views are not taken back
    assert not views.estimated  # and it will never be read again


def test_an_old_item_read_for_the_first_time_makes_the_total_an_estimate(
    youtube_account,
):
    items = [
        ItemData("old", "video", published_at=NOW - dt.timedelta(days=30)),
        ItemData("found", "video", published_at=NOW - dt.timedelta(days=20)),
        ItemData("new", "video", published_at=NOW + dt.timedelta(hours=12)),
    ]
    ids = items_upsert(account=youtube_account, items=items, seen_at=NOW)
    _read(youtube_account, NOW, {("view_count", ids["old"]): 100})
    item_totals_upsert(account=youtube_account, fetched_at=NOW)
    day2, day3 = NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=2)
    # Published after the previous total: all of its views are new growth.
    _read(
        youtube_account,
        day2,
        {("view_count", ids["old"]): 110, ("view_count", ids["new"]): 40},
    )
    item_totals_upsert(account=youtube_account, fetched_at=day2)
    assert not _totals(youtube_account, day2)["items.view_count"].estimated
    # Published long before, first read now: its lifetime views join at once.
    _read(
        youtube_account,
        day3,
        {
            ("view_count", ids["old"]): 120,
            ("view_count", ids["new"]): 50,
            ("view_count", ids["found"]): 5000,
        },
    )
    item_totals_upsert(account=youtube_account, fetched_at=day3)
    views = _totals(youtube_account, day3)["items.view_count"]
    assert views.value == 5170
    assert views.estimated


def test_item_totals_of_an_account_without_items_are_missing(youtube_account):
    item_totals_upsert(account=youtube_account, fetched_at=NOW)
    totals = _totals(youtube_account, NOW)
    assert {row.value for row in totals.values()} == {None}
    assert all(row.missing_reason for row in totals.values())


def test_every_collection_run_ends_with_the_item_totals(creator, time_machine):
    from platforms.models import CollectionRun, ConnectedAccount
    from platforms.ratelimit import DatabaseLimiter
    from platforms.sandbox import Sandbox
    from platforms.services import collection
    from platforms.tokens import save_token_reply

    time_machine.move_to("2026-06-15T12:00:00+00:00", tick=True)
    sb = Sandbox(
        seed=7,
        config={
            "clock": {"frozen_at": "2026-06-15T12:00:00+00:00"},
            "world": {"accounts": {"tiktok": 1}, "items_per_account": 12},
        },
    )
    world = sb.world.accounts("tiktok")[0]
    reply = sb.issue_tokens("tiktok", world.id)
    account = ConnectedAccount.objects.create(
        owner=creator, platform="tiktok", platform_user_id=reply["open_id"]
    )
    save_token_reply(account, reply)
    run = collection.run_create(account=account, kind=CollectionRun.Kind.BACKFILL)
    run = collection.run_execute(
        run_id=run.pk, transport=sb.transport(), limiter=DatabaseLimiter()
    )
    assert run.status == "succeeded"
    assert "item_totals" in run.checkpoint["done"]
    (at,) = set(
        MetricSnapshot.objects.filter(account=account, item__isnull=False).values_list(
            "fetched_at", flat=True
        )
    )
    totals = _totals(account, at)
    for metric, stored in ITEM_TOTAL_METRICS.items():
        readings = MetricSnapshot.objects.filter(
            account=account, item__isnull=False, metric=metric
        )
        assert totals[stored].value == sum(r.value for r in readings), metric
        assert totals[stored].source.endswith("(tiktok.video.list)")
        assert not totals[stored].estimated  # a backfill reads every item
