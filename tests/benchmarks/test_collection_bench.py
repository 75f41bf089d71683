"""Backfill cost: wall time, requests against the minimum, peak memory.

Issue 5 asks for 10 accounts × 500 items per platform and again 10 × 5,000.
Prints, per platform and size: wall time, the requests sent (and the
theoretical minimum for that platform's API), and the peak Python memory of
one account's backfill (tracemalloc). Memory must stay flat as items grow:
items are listed and stored page by page, never all at once, so the peak
at 5,000 items may be at most 1.5 × the peak at 500.

The limits are lifted (the product's limiter, the sandbox's windows and
quotas): this measures the product's own cost, not a platform's patience.
YouTube's default 10,000 units a day would not cover even one 5,000-video
backfill (one Analytics report per video, and one retention report per
recent video), so the sandbox quota and `YOUTUBE_DAILY_QUOTA` are raised;
the printout says so.

Run with `make bench` (or `pytest tests/benchmarks -m benchmark -s`).
BENCH_ITEMS and BENCH_ACCOUNTS override the sizes, e.g. BENCH_ITEMS=500,5000.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
import tracemalloc

import pytest
from django.utils import timezone

from platforms.collectors import get_collector
from platforms.models import CollectionRun, ConnectedAccount, ContentItem
from platforms.ratelimit import DatabaseLimiter, forget_known_buckets
from platforms.sandbox import Sandbox
from platforms.services.collection import Progress
from platforms.tokens import save_token_reply

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db]

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10"))
SIZES = [int(n) for n in os.environ.get("BENCH_ITEMS", "500,5000").split(",")]
FROZEN_AT = "2026-06-15T12:00:00+00:00"
HISTORY_DAYS = 30
LIFTED = 100_000_000
#: Peak memory at the largest size may be at most this times the smallest's.
FLAT = 1.5


def minimum_requests(platform: str, items: int, account: ConnectedAccount) -> int:
    """The fewest calls any client could make for this account's backfill."""
    if platform == "tiktok":  # user/info + video/list pages of 20 (+ business)
        business = account.account_type == ConnectedAccount.AccountType.BUSINESS
        return 1 + math.ceil(items / 20) + (1 if business else 0)
    if platform == "instagram":
        # profile + media pages of 50 + one batch request per 50 posts; each
        # batch operation also counts as one call against Graph's limits.
        return 1 + 2 * math.ceil(items / 50)
    # channels + playlistItems pages + videos.list calls of 50 (Data API);
    # Analytics: one day report per public video, one retention report per
    # public video of the last 30 days, the channel's day report and three
    # audience reports.
    videos = ContentItem.objects.filter(account=account, availability="available")
    recent = videos.filter(published_at__gte=timezone.now() - dt.timedelta(days=30))
    return 1 + 2 * math.ceil(items / 50) + videos.count() + recent.count() + 4


@pytest.fixture(autouse=True)
def _unlimited(settings, time_machine):
    from platforms.ratelimit import ENDPOINT_CLASSES

    time_machine.move_to(FROZEN_AT, tick=True)
    settings.PLATFORM_RATE_LIMITS = {
        platform: {
            name: f"{LIFTED}/m" for c in ENDPOINT_CLASSES.values() for name, _ in c
        }
        for platform in ("tiktok", "youtube", "instagram")
    }
    settings.YOUTUBE_DAILY_QUOTA = LIFTED
    forget_known_buckets()


def sandbox(platform: str, items: int) -> Sandbox:
    return Sandbox(
        seed=11,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "world": {
                "accounts": {platform: ACCOUNTS},
                "items_per_account": items,
                "history_days": HISTORY_DAYS,
            },
            "limits": {
                "youtube": {
                    "daily_quota": LIFTED,
                    "analytics_daily_quota": LIFTED,
                    "rate_per_window": LIFTED,
                },
                "graph": {
                    "app_calls_per_user": LIFTED,
                    "user_calls": LIFTED,
                    "buc_calls": LIFTED,
                    "page_calls": LIFTED,
                },
                "tiktok": {"per_endpoint": LIFTED},
                "tiktok_business": {"per_endpoint": LIFTED},
            },
        },
    )


def backfill_all(platform: str, items: int, creator) -> dict:
    """Backfill every account of a fresh world; wall time, requests, peaks."""
    sb = sandbox(platform, items)
    limiter = DatabaseLimiter()
    started = time.perf_counter()
    peaks, sent, minimum = [], 0, 0
    for world_account in sb.world.accounts(platform):
        reply = sb.issue_tokens(platform, world_account.id)
        account = ConnectedAccount.objects.create(
            owner=creator,
            platform=platform,
            platform_user_id=reply.get("open_id") or world_account.external_id,
        )
        save_token_reply(account, reply)
        run = CollectionRun.objects.create(
            account=account, kind="backfill", status="running"
        )
        # The in-process sandbox caches its world's items: build them before
        # tracing, so the peak is the product's memory, not the sandbox's.
        for index in range(world_account.item_count):
            sb.world.item(world_account, index)
        tracemalloc.start()
        collector = get_collector(
            account=account,
            progress=Progress(run=run),
            fetched_at=timezone.now(),
            transport=sb.transport(),
            limiter=limiter,
        )
        with collector:
            outcome = collector.collect(backfill=True)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        sent += collector.client.request_count
        account.refresh_from_db()
        minimum += minimum_requests(platform, items, account)
        cut = [f for f in outcome.failures if "listing cut short" in f]
        assert not cut, cut
    return {
        "seconds": time.perf_counter() - started,
        "sent": sent,
        "minimum": minimum,
        "peak": max(peaks),
        # The last account's peak: imports and caches of the first are done.
        "steady": peaks[-1],
    }


@pytest.mark.parametrize("platform", ["tiktok", "instagram", "youtube"])
def test_backfill_cost(platform, creator):
    results = {}
    for items in SIZES:
        ConnectedAccount.objects.all().delete()  # each size in an empty database
        results[items] = backfill_all(platform, items, creator)
        r = results[items]
        print(
            f"\n[{platform:9s}] {ACCOUNTS:2d} accounts x {items:5d} items: "
            f"{r['seconds']:7.1f} s wall, {r['sent']:7d} requests "
            f"(minimum {r['minimum']}, {r['sent'] / r['minimum']:.2f}x), "
            f"peak memory per account {r['peak'] / 2**20:6.2f} MiB "
            f"(last account {r['steady'] / 2**20:.2f} MiB)"
        )
    if platform == "youtube":
        print(
            "  (YouTube: the sandbox quota and YOUTUBE_DAILY_QUOTA are raised; "
            "at the default 10,000 units a day one 5,000-video backfill alone "
            "would take more than a day)"
        )
    small, large = results[min(SIZES)], results[max(SIZES)]
    if max(SIZES) > min(SIZES):
        # Compared once warm (the first account also pays for imports).
        ratio = large["steady"] / small["steady"]
        print(f"  peak memory {max(SIZES)} vs {min(SIZES)} items: {ratio:.2f}x")
        assert large["steady"] <= FLAT * small["steady"], (
            f"memory grew {ratio:.2f}x with items; it must stay flat"
        )
