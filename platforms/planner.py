"""When to collect each account, and which of its items, within every budget.

Fresh content changes fast and old content barely moves, so:

- an account is collected more often while its newest item is young
  (`AGE_INTERVALS`);
- within a scheduled run, only items younger than `FRESH` are re-read on
  every run (they come first in every platform's newest-first listing);
  older items are re-read on a slower cadence by age (`ITEM_BANDS`),
  through the platforms' batch endpoints; the whole listing (which finds
  deleted items) is walked once every `FULL_LISTING_EVERY`.

So the requests of a scheduled run grow with the account's fresh items,
not with its catalogue. Each platform's budget comes from the configured
limits (`platforms.ratelimit.configured_rates`, i.e. the seed defaults and
`PLATFORM_RATE_LIMITS`) and, for YouTube, `YOUTUBE_DAILY_QUOTA` with the
ledger's unit costs. The planner estimates each account's daily requests
per endpoint class and stretches the platform's intervals (account and
item cadences alike) by one factor until the day fits inside `HEADROOM`
of every budget, leaving room for backfills and the API explorer.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from platforms.models import CollectionRun, ConnectedAccount, ContentItem
from platforms.quota import DEFAULT_YOUTUBE_COSTS
from platforms.ratelimit import ENDPOINT_CLASSES, configured_rates

DAY = dt.timedelta(days=1)
#: (newest item younger than, collect the account every)
AGE_INTERVALS = (
    (dt.timedelta(days=2), dt.timedelta(hours=1)),
    (dt.timedelta(days=7), dt.timedelta(hours=3)),
    (dt.timedelta(days=30), dt.timedelta(hours=12)),
)
OLD_INTERVAL = dt.timedelta(hours=24)
#: Items younger than this are re-read on every run.
FRESH = dt.timedelta(days=2)
#: (item younger than, re-read its counters every); older: OLD_ITEM_EVERY.
ITEM_BANDS = (
    (dt.timedelta(days=7), dt.timedelta(hours=3)),
    (dt.timedelta(days=30), dt.timedelta(hours=12)),
)
OLD_ITEM_EVERY = dt.timedelta(days=7)
#: A scheduled run walks the whole listing (and finds vanished items) this often.
FULL_LISTING_EVERY = dt.timedelta(days=7)
#: YouTube reads day reports (and retention) of videos younger than this.
YOUNG = dt.timedelta(days=7)
#: Share of each daily budget scheduled collection may plan to use.
HEADROOM = 0.7
#: Intervals are never stretched beyond this (a budget far too small).
MAX_STRETCH = 100.0


@dataclass(frozen=True)
class RunShape:
    """What one scheduled run of a platform asks, by endpoint."""

    #: Requests every run makes whatever the account holds.
    fixed: dict[str, float]
    #: The newest-first listing: endpoint and items per page.
    listing: str
    page: int
    #: Re-reading known items' counters: endpoint and items per request.
    reread: str
    batch: int
    #: Whether the listing itself carries the counters (TikTok video/list).
    listing_has_counters: bool = False
    #: Extra requests per young item per run (YouTube day reports).
    per_young: dict[str, float] = field(default_factory=dict)
    #: Extra requests per re-read item (a Graph batch operation per post).
    per_reread: dict[str, float] = field(default_factory=dict)


SHAPES: dict[str, RunShape] = {
    # user/info, business/get; video/list pages carry the counts, video/query
    # re-reads 20 known videos per call.
    "tiktok": RunShape(
        fixed={"tiktok.user.info": 1, "tiktok.business.get": 1},
        listing="tiktok.video.list",
        page=20,
        reread="tiktok.video.query",
        batch=20,
        listing_has_counters=True,
    ),
    # channels; playlistItems pages of 50 and videos.list of 50 ids; one
    # channel day report and three audience reports; per young video a day
    # report and a retention report.
    "youtube": RunShape(
        fixed={"youtube.channels": 1, "youtube.analytics.reports": 4},
        listing="youtube.playlistItems",
        page=50,
        reread="youtube.videos",
        batch=50,
        per_young={"youtube.analytics.reports": 2},
    ),
    # profile, stories, the day series and two audience reads; media pages
    # of 50; insights of each re-read post are one Graph call each, sent 50
    # to a batch request. Live stories add one call each (about four).
    "instagram": RunShape(
        fixed={
            "graph.ig_user": 1,
            "graph.ig_stories": 1,
            "graph.story.insights": 4,
            "graph.ig_user.insights": 3,
        },
        listing="graph.ig_media",
        page=50,
        reread="graph.batch",
        batch=50,
        per_reread={"graph.media.insights": 1},
    ),
}


def interval_for(newest: dt.datetime | None, now: dt.datetime) -> dt.timedelta:
    """How often to collect an account whose newest item is from `newest`."""
    if newest is None:
        return OLD_INTERVAL
    age = now - newest
    for younger_than, interval in AGE_INTERVALS:
        if age < younger_than:
            return interval
    return OLD_INTERVAL


# --- items: which to re-read in a scheduled run ---------------------------------


def reread_due(now: dt.datetime, *, factor: float = 1.0) -> Q:
    """Items older than FRESH whose counters are due again, by age band.

    Needs `last_read` annotated (see `items_due`); items never read are due.
    """
    due = Q(last_read__isnull=True)
    younger_than = FRESH
    for older_than, every in (*ITEM_BANDS, (None, OLD_ITEM_EVERY)):
        band = Q(published_at__lt=now - younger_than)
        if older_than is not None:
            band &= Q(published_at__gte=now - older_than)
            younger_than = older_than
        due |= band & Q(last_read__lt=now - every * factor)
    return due & Q(published_at__lt=now - FRESH)


def items_due(account: ConnectedAccount, now: dt.datetime, *, factor: float = 1.0):
    """The account's older items due for a counter re-read (pk, platform id)."""
    return (
        ContentItem.objects.filter(
            account=account, availability=ContentItem.Availability.AVAILABLE
        )
        .exclude(kind=ContentItem.Kind.STORY)
        .annotate(
            last_read=Max(
                "metricsnapshot__fetched_at",
                filter=Q(metricsnapshot__metric="view_count"),
            )
        )
        # The demo's COLLECTION_INTERVAL_SCALE compresses item cadences too.
        .filter(reread_due(now, factor=factor * settings.COLLECTION_INTERVAL_SCALE))
        .order_by("pk")
        .values_list("pk", "platform_item_id")
    )


def full_listing_due(account: ConnectedAccount, now: dt.datetime) -> bool:
    """Whether this scheduled run should walk the whole listing."""
    return not CollectionRun.objects.filter(
        account=account,
        status__in=[CollectionRun.Status.SUCCEEDED, CollectionRun.Status.PARTIAL],
        finished_at__gte=now - FULL_LISTING_EVERY * settings.COLLECTION_INTERVAL_SCALE,
        checkpoint__full=True,
    ).exists()


# --- budgets ----------------------------------------------------------------------


@dataclass
class Budget:
    """One daily limit: a limiter window (per account or app-wide) or a quota."""

    name: str
    per_account: bool
    daily: float
    endpoints: dict[str, float]  # endpoint -> share of the limit per request


def budgets(platform: str) -> list[Budget]:
    """Every daily budget of `platform`, from the configured limits."""
    rates = configured_rates(platform)
    found: dict[str, Budget] = {}
    for endpoint, classes in ENDPOINT_CLASSES.items():
        for name, per_account in classes:
            rate = rates.get(name)
            if rate is None:
                continue
            daily = rate.limit * DAY.total_seconds() / rate.window
            budget = found.setdefault(name, Budget(name, per_account, daily, {}))
            budget.endpoints[endpoint] = 1.0
    result = list(found.values())
    if platform == "youtube":
        # Every call costs units of the one project quota (the ledger's costs).
        costs = {
            endpoint: DEFAULT_YOUTUBE_COSTS[
                "analytics_read" if "analytics" in endpoint else "data_read"
            ]
            for endpoint in ENDPOINT_CLASSES
            if endpoint.startswith("youtube.")
        }
        result.append(Budget("quota", False, settings.YOUTUBE_DAILY_QUOTA, costs))
    return result


@dataclass
class AccountLoad:
    """An account's item counts by age, as the planner sees them."""

    platform: str
    items: int
    newest: dt.datetime | None
    fresh: int
    young: int
    bands: list[int]  # items per ITEM_BANDS band, then the older ones


def account_loads(now: dt.datetime) -> list[AccountLoad]:
    """Item counts by age for every collected account, in one query."""
    items = Q(items__availability=ContentItem.Availability.AVAILABLE) & ~Q(
        items__kind=ContentItem.Kind.STORY
    )

    def younger(age: dt.timedelta) -> Q:
        return items & Q(items__published_at__gte=now - age)

    edges = [FRESH, *(older for older, _ in ITEM_BANDS)]
    annotations = {
        "n_items": Count("items", filter=items),
        "newest": Max("items__published_at"),
        "n_fresh": Count("items", filter=younger(FRESH)),
        "n_young": Count("items", filter=younger(YOUNG)),
    }
    for index, edge in enumerate(edges):
        annotations[f"n_edge{index}"] = Count("items", filter=younger(edge))
    rows = (
        ConnectedAccount.objects.filter(_active())
        .annotate(**annotations)
        .values("platform", *annotations)
    )
    loads = []
    for row in rows:
        under = [row[f"n_edge{i}"] for i in range(len(edges))]
        bands = [b - a for a, b in zip(under, under[1:], strict=False)]
        bands.append(row["n_items"] - under[-1])
        loads.append(
            AccountLoad(
                platform=row["platform"],
                items=row["n_items"],
                newest=row["newest"],
                fresh=row["n_fresh"],
                young=row["n_young"],
                bands=bands,
            )
        )
    return loads


def run_requests(load: AccountLoad, *, due_old: float = 0.0) -> dict[str, float]:
    """Requests one scheduled (not full) run makes, by endpoint."""
    shape = SHAPES[load.platform]
    asked = dict(shape.fixed)
    pages = max(1, math.ceil((load.fresh + 1) / shape.page))
    asked[shape.listing] = asked.get(shape.listing, 0) + pages
    reread = due_old + (0 if shape.listing_has_counters else load.fresh)
    if reread:
        asked[shape.reread] = asked.get(shape.reread, 0) + math.ceil(
            reread / shape.batch
        )
    for endpoint, n in shape.per_reread.items():
        asked[endpoint] = asked.get(endpoint, 0) + n * reread
    for endpoint, n in shape.per_young.items():
        asked[endpoint] = asked.get(endpoint, 0) + n * load.young
    return asked


def daily_requests(
    load: AccountLoad, now: dt.datetime, *, factor: float = 1.0
) -> dict[str, float]:
    """Requests per day the account costs at `factor`, by endpoint."""
    shape = SHAPES[load.platform]
    runs = DAY / (interval_for(load.newest, now) * factor)
    # Old items: each band's items once per its (stretched) cadence, at most
    # once per run.
    everies = [*(every for _, every in ITEM_BANDS), OLD_ITEM_EVERY]
    old_per_day = sum(
        count * min(runs, DAY / (every * factor))
        for count, every in zip(load.bands, everies, strict=True)
    )
    per_run = run_requests(load, due_old=old_per_day / runs)
    daily = {endpoint: n * runs for endpoint, n in per_run.items()}
    # The full listing, once per FULL_LISTING_EVERY (stretched).
    fulls = DAY / (FULL_LISTING_EVERY * factor)
    pages = math.ceil(max(load.items, 1) / shape.page)
    daily[shape.listing] = daily.get(shape.listing, 0) + pages * fulls
    if load.platform == "youtube":
        daily[shape.reread] = daily.get(shape.reread, 0) + pages * fulls
    return daily


def _active() -> Q:
    return Q(status=ConnectedAccount.Status.ACTIVE) | Q(
        status=ConnectedAccount.Status.PAUSED
    )


def demand(
    platform: str,
    loads: list[AccountLoad],
    now: dt.datetime,
    *,
    factor: float = 1.0,
) -> dict[str, float]:
    """Per budget, the share of it the day's planned runs use (1.0 = all)."""
    shares: dict[str, float] = {}
    for budget in budgets(platform):
        total = peak = 0.0
        for load in loads:
            if load.platform != platform:
                continue
            asked = daily_requests(load, now, factor=factor)
            used = sum(
                asked.get(endpoint, 0) * cost
                for endpoint, cost in budget.endpoints.items()
            )
            total += used
            peak = max(peak, used)
        needed = peak if budget.per_account else total
        shares[budget.name] = needed / budget.daily if budget.daily else math.inf
    return shares


def stretch_factors(now: dt.datetime | None = None) -> dict[str, float]:
    """Per platform, how much to lengthen every interval so the day fits.

    Demand falls as 1/factor (account runs, item re-reads and full
    listings are all stretched), so the factor is the largest share of a
    budget the unstretched plan would use, over HEADROOM.
    """
    now = now or timezone.now()
    loads = account_loads(now)
    factors = {}
    for platform in SHAPES:
        shares = demand(platform, loads, now)
        worst = max(shares.values(), default=0.0)
        factors[platform] = min(MAX_STRETCH, max(1.0, worst / HEADROOM))
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
