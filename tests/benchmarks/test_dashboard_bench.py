"""Dashboard pages at 1,000 items × 365 days: server time, SQL queries, bytes.

Prints figures; asserts only the budgets the issue sets (payload < 1 MB and
a query count that does not depend on the number of items).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from platforms.models import ContentItem
from platforms.services.storage import (
    ItemData,
    MetricValue,
    daily_values_upsert,
    items_upsert,
    snapshots_upsert,
)

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]

ITEMS, DAYS = 1000, 365


def _populate(account) -> int:
    now = timezone.now()
    today = now.date()
    items = [
        ItemData(
            platform_item_id=f"bench-{i}",
            kind=ContentItem.Kind.VIDEO,
            title=f"Benchmark video {i}",
            published_at=now - dt.timedelta(days=i % DAYS),
        )
        for i in range(ITEMS)
    ]
    ids = list(items_upsert(account=account, items=items, seen_at=now).values())

    def daily():
        for n, pk in enumerate(ids):
            for d in range(DAYS):
                day = today - dt.timedelta(days=d)
                yield MetricValue(
                    "view_count", 50 + (n * d) % 97, "r", item_id=pk, day=day
                )
                yield MetricValue(
                    "like_count", 3 + (n + d) % 11, "r", item_id=pk, day=day
                )

    daily_values_upsert(account=account, values=daily(), fetched_at=now)
    for d in range(0, DAYS, 7):
        snapshots_upsert(
            account=account,
            values=[MetricValue("follower_count", 10_000 + d, "channels")]
            + [
                MetricValue("view_count", 1000 + d + n, "videos", item_id=pk)
                for n, pk in enumerate(ids)
            ],
            fetched_at=now - dt.timedelta(days=d),
        )
    return ids[0]


def test_dashboard_pages_at_scale(client, youtube_account):
    started = time.perf_counter()
    first_item = _populate(youtube_account)
    print(
        f"\n[{connection.vendor}] populated {ITEMS} items x {DAYS} days "
        f"in {time.perf_counter() - started:.1f}s"
    )
    client.force_login(youtube_account.owner)
    pages = {
        "overview": reverse("dashboard:overview") + "?range=365d",
        "account": reverse("dashboard:account", args=[youtube_account.pk])
        + "?range=365d",
        "item": reverse("dashboard:item", args=[first_item]) + "?range=365d",
    }
    for name, url in pages.items():
        client.get(url)  # warm caches
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        size = len(response.content)
        print(
            f"[{connection.vendor}] {name:8s} {elapsed * 1000:7.0f} ms  "
            f"{len(queries):3d} queries  {size / 1024:7.1f} KiB"
        )
        assert response.status_code == 200
        assert size < 1_000_000
