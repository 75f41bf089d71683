"""Dashboard pages at 1,000 items × 365 days: server time, SQL queries, bytes.

Two accounts of the same creator: a YouTube one with a year of day values
per item and per channel (and weekly counters), and a TikTok one with
counters only, read every day for a year (its per-period values are derived
from the readings). Each day's or week's readings end as a collection run
does, with the item totals. Every page is measured first at 100 items per
account, then at 1,000.

Prints the figures; asserts only the budgets the issue sets: the payload of
each page stays under 1 MB, and the number of SQL queries is the same at
100 and at 1,000 items (no N+1). Run it on SQLite and, with DATABASE_URL, on
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from platforms.models import ConnectedAccount, ContentItem, Platform
from platforms.services.storage import (
    ItemData,
    MetricValue,
    daily_values_upsert,
    item_totals_upsert,
    items_upsert,
    snapshots_upsert,
)

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]

SMALL, ITEMS, DAYS = 100, 1000, 365
PAYLOAD_BUDGET = 1_000_000


def _items(account, first: int, last: int, now: dt.datetime) -> list[int]:
    items = [
        ItemData(
            platform_item_id=f"bench-{i}",
            kind=ContentItem.Kind.VIDEO,
            title=f"Benchmark video {i}",
            published_at=now - dt.timedelta(days=DAYS + i % DAYS),
        )
        for i in range(first, last)
    ]
    return list(items_upsert(account=account, items=items, seen_at=now).values())


def _day_views(n: int, d: int) -> int:
    return 50 + (n * d) % 97


def _day_likes(n: int, d: int) -> int:
    return 3 + (n + d) % 11


def _populate_daily(account, first: int, last: int, now: dt.datetime) -> int:
    """YouTube-like: a year of day values per item and for the channel (its
    report sums every video, as YouTube's does), counters every week."""
    today = now.date()
    ids = _items(account, first, last, now)

    def daily():
        for n, pk in enumerate(ids, start=first):
            for d in range(DAYS):
                day = today - dt.timedelta(days=d)
                yield MetricValue(
                    "view_count", _day_views(n, d), "r", item_id=pk, day=day
                )
                yield MetricValue(
                    "like_count", _day_likes(n, d), "r", item_id=pk, day=day
                )
        for d in range(DAYS):
            day = today - dt.timedelta(days=d)
            for metric, per_item in (
                ("view_count", _day_views),
                ("like_count", _day_likes),
            ):
                total = sum(per_item(n, d) for n in range(last))
                yield MetricValue(metric, total, "channel", day=day)

    daily_values_upsert(account=account, values=daily(), fetched_at=now)
    for d in range(0, DAYS, 7):
        snapshots_upsert(
            account=account,
            values=[
                MetricValue("follower_count", 10_000 - d, "channels"),
                MetricValue("view_count", 900_000 - d * 50, "channels"),
            ]
            + [
                MetricValue("view_count", 100_000 - d + n, "videos", item_id=pk)
                for n, pk in enumerate(ids, start=first)
            ],
            fetched_at=now - dt.timedelta(days=d),
        )
        item_totals_upsert(account=account, fetched_at=now - dt.timedelta(days=d))
    return ids[0]


def _populate_counters(account, first: int, last: int, now: dt.datetime) -> int:
    """TikTok-like: counters only, every item read once a day for a year."""
    ids = _items(account, first, last, now)
    for d in range(DAYS):
        grown = DAYS - d
        snapshots_upsert(
            account=account,
            values=[
                MetricValue("follower_count", 5_000 + grown, "user.info"),
                MetricValue("view_count", 400_000 + 90 * grown, "derived"),
            ]
            + [
                MetricValue(metric, base + step * grown, "video.list", item_id=pk)
                for n, pk in enumerate(ids, start=first)
                for metric, base, step in (
                    ("view_count", 1000 + n, 7 + n % 5),
                    ("like_count", 50 + n, 1 + n % 3),
                )
            ],
            fetched_at=now - dt.timedelta(days=d),
        )
        item_totals_upsert(account=account, fetched_at=now - dt.timedelta(days=d))
    return ids[0]


def _measure(client, url: str) -> tuple[float, int, int]:
    client.get(url)  # warm caches
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, url
    return elapsed, len(queries), len(response.content)


def test_dashboard_pages_at_scale(client, youtube_account):
    tiktok = ConnectedAccount.objects.create(
        owner=youtube_account.owner,
        platform=Platform.TIKTOK,
        platform_user_id="bench-open-id",
        handle="@bench",
    )
    client.force_login(youtube_account.owner)
    now = timezone.now()
    vendor = connection.vendor
    queries_at: dict[int, dict[str, int]] = {}
    for first, last in ((0, SMALL), (SMALL, ITEMS)):
        started = time.perf_counter()
        youtube_item = _populate_daily(youtube_account, first, last, now)
        tiktok_item = _populate_counters(tiktok, first, last, now)
        if first == 0:
            item_ids = {"youtube": youtube_item, "tiktok": tiktok_item}
        print(
            f"\n[{vendor}] populated {last} items x {DAYS} days per account "
            f"in {time.perf_counter() - started:.1f}s"
        )
        started = time.perf_counter()
        item_totals_upsert(account=tiktok, fetched_at=now)
        print(
            f"[{vendor}] item totals at a run's end ({last} items): "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        pages = {
            "overview": reverse("dashboard:overview"),
            "compare": reverse("dashboard:compare"),
            "account (YouTube)": reverse(
                "dashboard:account", args=[youtube_account.pk]
            ),
            "account (TikTok)": reverse("dashboard:account", args=[tiktok.pk]),
            "item (YouTube)": reverse("dashboard:item", args=[item_ids["youtube"]]),
            "item (TikTok)": reverse("dashboard:item", args=[item_ids["tiktok"]]),
        }
        queries_at[last] = {}
        for name, url in pages.items():
            elapsed, queries, size = _measure(client, f"{url}?range=365d")
            queries_at[last][name] = queries
            print(
                f"[{vendor}] {last:5d} items  {name:18s} {elapsed * 1000:7.0f} ms  "
                f"{queries:3d} queries  {size / 1024:7.1f} KiB"
            )
            assert size < PAYLOAD_BUDGET, (name, size)
    # No N+1: ten times the items, the same queries.
    assert queries_at[ITEMS] == queries_at[SMALL]
