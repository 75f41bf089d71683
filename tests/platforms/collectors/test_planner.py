"""The planner: budgets from the configured limits, fresh items often, old rarely."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from platforms import planner
from platforms.models import ConnectedAccount, ContentItem
from platforms.ratelimit import forget_known_buckets
from platforms.sandbox import Sandbox
from platforms.services import collection
from platforms.tokens import save_token_reply
from tests.platforms.collectors.conftest import FROZEN_AT


def _accounts(creator, platform: str, count: int, ages_days: list[float]):
    now = timezone.now()
    for index in range(count):
        account = ConnectedAccount.objects.create(
            owner=creator, platform=platform, platform_user_id=f"{platform}-{index}"
        )
        ContentItem.objects.bulk_create(
            ContentItem(
                account=account,
                platform_item_id=f"{index}-{n}",
                kind="video",
                published_at=now - dt.timedelta(days=age),
            )
            for n, age in enumerate(ages_days)
        )


def _fits(platform: str, factor: float) -> dict[str, float]:
    now = timezone.now()
    return planner.demand(platform, planner.account_loads(now), now, factor=factor)


def test_fresh_content_is_collected_more_often_than_old():
    now = timezone.now()
    assert planner.interval_for(
        now - dt.timedelta(hours=5), now
    ) < planner.interval_for(now - dt.timedelta(days=90), now)


def test_a_small_quota_stretches_youtube_until_the_days_units_fit(creator, settings):
    settings.YOUTUBE_DAILY_QUOTA = 100
    _accounts(creator, "youtube", 5, [0.1, 1, 3, 20, 200])
    factor = planner.stretch_factors()["youtube"]
    assert factor > 1
    # Stretched, every budget's planned day fits its headroom; the stretch
    # is no longer than needed (a third less and the quota is exceeded).
    shares = _fits("youtube", factor)
    assert max(shares.values()) <= planner.HEADROOM + 1e-9
    assert _fits("youtube", factor / 1.5)["quota"] > planner.HEADROOM
    # Analytics reports count: the quota share exceeds what Data API calls
    # alone would use.
    assert shares["quota"] > shares["data_api"] * (100_000 / 10_000)


def test_a_configured_tiktok_limit_stretches_tiktok_and_nothing_else(creator, settings):
    _accounts(creator, "tiktok", 2, [0.5] * 10 + [100] * 400)
    assert planner.stretch_factors()["tiktok"] == 1.0  # the defaults fit
    settings.PLATFORM_RATE_LIMITS = {"tiktok": {"video_metrics": "60/d"}}
    forget_known_buckets()
    factors = planner.stretch_factors()
    assert factors["tiktok"] > 1 and factors["youtube"] == 1.0
    shares = _fits("tiktok", factors["tiktok"])
    assert shares["video_metrics"] == pytest.approx(planner.HEADROOM)


def test_old_items_are_re_read_by_age_band_not_every_run(creator):
    now = timezone.now()
    _accounts(creator, "tiktok", 1, [1, 3, 10, 100])
    account = ConnectedAccount.objects.get()
    # Just read (one reading each, now): nothing older than FRESH is due.
    for item in account.items.all():
        item.metricsnapshot_set.create(
            account=account, metric="view_count", fetched_at=now, source="t"
        )
    assert list(planner.items_due(account, now)) == []
    ages = {
        hours: {
            platform_id
            for _pk, platform_id in planner.items_due(
                account, now + dt.timedelta(hours=hours)
            )
        }
        for hours in (4, 13, 25, 24 * 8)
    }
    assert ages[4] == {"0-1"}  # 3 days old: every 3 hours
    assert ages[13] == {"0-1", "0-2"}  # 10 days old: every 12 hours
    assert ages[25] == {"0-0", "0-1", "0-2"}  # 0-0 is no longer fresh
    assert ages[24 * 8] == {"0-0", "0-1", "0-2", "0-3"}  # 100 days old: weekly


OLD_WORLD = {
    "accounts": {"tiktok": 1, "youtube": 1, "instagram": 1},
    "items_per_account": 300,
    "history_days": 365,
}


@pytest.mark.parametrize("platform", ["tiktok", "youtube", "instagram"])
def test_a_scheduled_run_of_an_old_catalogue_costs_what_its_fresh_items_cost(
    platform, creator, limiter, time_machine
):
    """300 items over a year, about two of them fresh: a scheduled run an
    hour after the backfill asks for the fresh head, not the catalogue."""
    sb = Sandbox(seed=3, config={"clock": {"frozen_at": FROZEN_AT}, "world": OLD_WORLD})
    world_account = sb.world.accounts(platform)[0]
    reply = sb.issue_tokens(platform, world_account.id)
    account = ConnectedAccount.objects.create(
        owner=creator,
        platform=platform,
        platform_user_id=reply.get("open_id") or world_account.external_id,
    )
    save_token_reply(account, reply)

    def run(kind: str) -> dict[str, int]:
        before = sb.requests.counts()
        created = collection.run_create(account=account, kind=kind)
        for _attempt in range(30):
            done = collection.run_execute(
                run_id=created.pk, transport=sb.transport(), limiter=limiter
            )
            if done.status != "queued":
                break
            # Throttled (Graph's hourly app limit): go on after retry_after.
            wait = (done.run_after - timezone.now()).total_seconds() + 1
            time_machine.shift(wait)
            sb.clock.advance(wait)
        assert done.status in ("succeeded", "partial"), done.error_summary
        after = sb.requests.counts()
        return {
            k: after[k] - before.get(k, 0)
            for k in after
            if after[k] != before.get(k, 0)
        }

    backfill = run("backfill")
    time_machine.shift(3600)
    sb.clock.advance(3600)
    scheduled = run("scheduled")

    now = timezone.now()
    load = next(
        load for load in planner.account_loads(now) if load.platform == platform
    )
    assert load.items >= 290 and load.fresh <= 5
    estimate = planner.run_requests(load)
    asked = sum(n for endpoint, n in scheduled.items() if "oauth" not in endpoint)
    # Within the planner's estimate of a scheduled run, and a small part of
    # what listing the catalogue costs.
    assert asked <= sum(estimate.values()) + 1, (scheduled, estimate)
    listing = planner.SHAPES[platform].listing
    assert scheduled.get(listing, 0) == 1
    assert backfill[listing] >= 6
    assert asked * 4 < sum(backfill.values())
