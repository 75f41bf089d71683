"""When to collect each account next, so every account fits the platforms' budgets.

Fresh content changes fast and old content barely moves, so an account's
interval follows the age of its newest item. Then each platform's intervals
are stretched by one factor until the requests all its accounts would make
in a day fit inside that platform's daily budget (YouTube's quota, the
TikTok and Instagram hourly/daily request limits), with headroom left for
backfills and the API explorer.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from platforms.models import ConnectedAccount

#: (newest item younger than, collect every)
AGE_INTERVALS = (
    (dt.timedelta(days=2), dt.timedelta(hours=1)),
    (dt.timedelta(days=7), dt.timedelta(hours=3)),
    (dt.timedelta(days=30), dt.timedelta(hours=12)),
)
OLD_INTERVAL = dt.timedelta(hours=24)
#: Share of a daily budget scheduled collection may plan to use.
HEADROOM = 0.7


@dataclass(frozen=True)
class PlatformBudget:
    """Requests (or quota units) one scheduled run costs, and the daily budget."""

    per_run_fixed: int
    items_per_request: int
    requests_per_item_page: int
    daily_budget: int

    def run_cost(self, items: int) -> int:
        pages = max(1, math.ceil(items / self.items_per_request))
        return self.per_run_fixed + pages * self.requests_per_item_page


def budgets() -> dict[str, PlatformBudget]:
    return {
        # channels + (playlistItems + videos.list) per 50 uploads, in units.
        "youtube": PlatformBudget(1, 50, 2, settings.YOUTUBE_DAILY_QUOTA),
        # user/info + one video/list page per 20 videos; 600/min per endpoint.
        "tiktok": PlatformBudget(1, 20, 1, 600 * 60 * 24),
        # profile + media pages of 100 + one insights batch per 50 media;
        # 200 calls per user per hour is the binding Graph limit.
        "instagram": PlatformBudget(2, 50, 2, 200 * 24),
    }


def interval_for(newest: dt.datetime | None, now: dt.datetime) -> dt.timedelta:
    if newest is None:
        return OLD_INTERVAL
    age = now - newest
    for younger_than, interval in AGE_INTERVALS:
        if age < younger_than:
            return interval
    return OLD_INTERVAL


def _active() -> Q:
    return Q(status=ConnectedAccount.Status.ACTIVE) | Q(
        status=ConnectedAccount.Status.PAUSED
    )


def stretch_factors(now: dt.datetime | None = None) -> dict[str, float]:
    """Per platform, how much to lengthen intervals so a day's runs fit.

    For platforms whose limits are per user (Instagram), the budget is per
    account; for app-wide budgets (YouTube quota) all accounts share it.
    """
    now = now or timezone.now()
    rows = (
        ConnectedAccount.objects.filter(_active())
        .annotate(item_count=Count("items"), newest=Max("items__published_at"))
        .values("platform", "item_count", "newest")
    )
    demand: dict[str, float] = {}
    per_user_peak: dict[str, float] = {}
    plans = budgets()
    for row in rows:
        plan = plans.get(row["platform"])
        if plan is None:
            continue
        runs_per_day = dt.timedelta(days=1) / interval_for(row["newest"], now)
        cost = plan.run_cost(row["item_count"]) * runs_per_day
        demand[row["platform"]] = demand.get(row["platform"], 0.0) + cost
        per_user_peak[row["platform"]] = max(
            per_user_peak.get(row["platform"], 0), cost
        )
    factors = {}
    for platform, plan in plans.items():
        needed = (
            per_user_peak.get(platform, 0.0)
            if platform == "instagram"
            else demand.get(platform, 0.0)
        )
        factors[platform] = max(1.0, needed / (plan.daily_budget * HEADROOM))
    return factors


def next_collection_at(
    account: ConnectedAccount,
    *,
    now: dt.datetime | None = None,
    factors: dict[str, float] | None = None,
) -> dt.datetime:
    now = now or timezone.now()
    newest = account.items.aggregate(newest=Max("published_at"))["newest"]
    factor = (factors or stretch_factors(now)).get(account.platform, 1.0)
    interval = interval_for(newest, now) * factor * settings.COLLECTION_INTERVAL_SCALE
    shortest = dt.timedelta(seconds=settings.COLLECTION_MIN_INTERVAL_SECONDS)
    return now + max(interval, shortest)


def due_accounts(now: dt.datetime | None = None):
    """Accounts whose next collection time has come (or was never set)."""
    now = now or timezone.now()
    return ConnectedAccount.objects.filter(
        Q(status=ConnectedAccount.Status.ACTIVE)
        | Q(status=ConnectedAccount.Status.PAUSED, paused_until__lte=now)
    ).filter(Q(next_collection_at__lte=now) | Q(next_collection_at__isnull=True))
