"""Backfill cost: wall time, requests against the minimum, peak memory.

Prints, per platform and world size: accounts × items, wall time, requests
sent (and the theoretical minimum for that platform's API), and the peak
Python memory of one account's backfill (tracemalloc). Memory must stay flat
as items grow: items are listed and stored page by page, never all at once.

Run with `make bench` (or `pytest tests/benchmarks -m benchmark -s`).
BENCH_ITEMS overrides the sizes, e.g. BENCH_ITEMS=500,5000.
"""

from __future__ import annotations

import math
import os
import time
import tracemalloc

import pytest
from django.utils import timezone

from platforms.collectors import get_collector
from platforms.models import ApiCallLog, CollectionRun, ConnectedAccount
from platforms.ratelimit import DatabaseLimiter, forget_known_buckets
from platforms.sandbox import Sandbox
from platforms.services.collection import Progress
from platforms.tokens import save_token_reply

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10"))
SIZES = [int(n) for n in os.environ.get("BENCH_ITEMS", "500,5000").split(",")]
FROZEN_AT = "2026-06-15T12:00:00+00:00"


def minimum_requests(platform: str, items: int) -> int:
    """The fewest calls any client could make for a backfill of `items`."""
    if platform == "tiktok":  # user/info + video/list pages of 20
        return 1 + math.ceil(items / 20)
    if platform == "instagram":  # profile + media pages of 50 + batches of 50
        return 1 + 2 * math.ceil(items / 50)
    # channels + playlistItems pages + videos.list calls of 50 (Data API
    # units); Analytics: one day report per video plus the channel's.
    return 1 + 2 * math.ceil(items / 50) + items + 1


@pytest.fixture(autouse=True)
def _unlimited(settings, time_machine):
    from platforms.ratelimit import ENDPOINT_CLASSES

    time_machine.move_to(FROZEN_AT, tick=True)
    settings.PLATFORM_RATE_LIMITS = {
        platform: {
            name: "10000000/m" for c in ENDPOINT_CLASSES.values() for name, _ in c
        }
        for platform in ("tiktok", "youtube", "instagram")
    }
    settings.YOUTUBE_DAILY_QUOTA = 10_000_000
    forget_known_buckets()


@pytest.mark.parametrize("platform", ["tiktok", "instagram", "youtube"])
@pytest.mark.parametrize("items", SIZES)
def test_backfill_cost(platform, items, creator):
    # YouTube asks Analytics once per video for its day rows: 10 × 5,000
    # reports would take the benchmark far past its budget, so one account.
    accounts = 1 if platform == "youtube" and items > 1000 else ACCOUNTS
    sb = Sandbox(
        seed=11,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "world": {
                "accounts": {platform: accounts},
                "items_per_account": items,
                "history_days": 30,
            },
            "limits": {
                "youtube": {
                    "daily_quota": 10_000_000,
                    "analytics_daily_quota": 10_000_000,
                    "rate_per_window": 10_000_000,
                },
                "graph": {
                    "app_calls_per_user": 10_000_000,
                    "user_calls": 10_000_000,
                    "buc_calls": 10_000_000,
                    "page_calls": 10_000_000,
                },
                "tiktok": {"per_endpoint": 10_000_000},
            },
        },
    )
    limiter = DatabaseLimiter()
    started = time.perf_counter()
    peaks, sent = [], 0
    for world_account in sb.world.accounts(platform):
        account = ConnectedAccount.objects.create(
            owner=creator, platform=platform, platform_user_id=world_account.external_id
        )
        save_token_reply(account, sb.issue_tokens(platform, world_account.id))
        run = CollectionRun.objects.create(
            account=account, kind="backfill", status="running"
        )
        tracemalloc.start()
        collector = get_collector(
            account=account,
            progress=Progress(run=run),
            fetched_at=timezone.now(),
            transport=sb.transport(),
            limiter=limiter,
        )
        outcome = collector.collect(backfill=True)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        sent += collector.client.request_count
        assert not outcome.failures or platform == "instagram", outcome.failures[:3]
    elapsed = time.perf_counter() - started
    minimum = minimum_requests(platform, items) * accounts
    print(
        f"\n[{platform:9s}] {accounts:2d} accounts x {items:5d} items: "
        f"{elapsed:7.1f} s, {sent} requests (minimum {minimum}), "
        f"peak memory per account {max(peaks) / 2**20:6.1f} MiB, "
        f"{ApiCallLog.objects.count()} calls logged"
    )
