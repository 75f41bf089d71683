"""Throttled runs continue where they stopped, and end even if throttled for good.

Each test drives one run through the real queue steps (claim, collect,
re-queue on throttling) against a sandbox whose limits are small, moving
both clocks past `retry_after` between attempts, and compares the requests
the sandbox saw with those of one unthrottled run of the same world.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from platforms.models import (
    CollectionRun,
    ConnectedAccount,
    ContentItem,
    ErrorLog,
    MetricSnapshot,
)
from platforms.ratelimit import forget_known_buckets
from platforms.sandbox import Sandbox
from platforms.services import collection
from platforms.tokens import save_token_reply
from tests.platforms.collectors.conftest import FROZEN_AT

BIG_WORLD = {
    "accounts": {"tiktok": 1, "youtube": 1, "instagram": 2},
    "items_per_account": 100,
    "history_days": 60,
}


def world(**limits) -> Sandbox:
    return Sandbox(
        seed=11,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "world": BIG_WORLD,
            "limits": limits,
        },
    )


def connect_to(sb: Sandbox, creator, platform: str, index: int = 0):
    world_account = sb.world.accounts(platform)[index]
    reply = sb.issue_tokens(platform, world_account.id)
    account = ConnectedAccount.objects.create(
        owner=creator,
        platform=platform,
        platform_user_id=reply.get("open_id") or world_account.external_id,
        handle=world_account.handle,
    )
    save_token_reply(account, reply)
    return account


def drive(
    run_id: int,
    sb: Sandbox,
    limiter,
    time_machine,
    *,
    attempts: int = 40,
    extra: float = 1.0,
):
    """Execute the run, and again `extra` s after each retry_after, until it ends."""
    for _ in range(attempts):
        queued = CollectionRun.objects.get(pk=run_id)
        if queued.run_after is not None:
            wait = (queued.run_after - timezone.now()).total_seconds() + extra
            sb.clock.advance(wait)
            time_machine.shift(wait)
        run = collection.run_execute(
            run_id=run_id, transport=sb.transport(), limiter=limiter
        )
        assert run is not None, "the re-queued run could be claimed again"
        if run.status != "queued":
            return run
    pytest.fail(f"run still queued after {attempts} attempts")


def successful(sb: Sandbox, endpoint: str) -> int:
    return sb.requests.count(endpoint=endpoint, status=200)


def test_a_throttled_tiktok_backfill_continues_from_its_cursor(
    creator, other_creator, limiter, time_machine
):
    calm = world()
    calm_account = connect_to(calm, other_creator, "tiktok")
    run = collection.run_create(account=calm_account, kind="backfill")
    assert drive(run.pk, calm, limiter, time_machine).status in ("succeeded", "partial")
    pages = successful(calm, "tiktok.video.list")
    assert pages >= 5

    # TikTok answers 429 after three video/list calls a minute.
    busy = world(tiktok={"per_endpoint": 3})
    account = connect_to(busy, creator, "tiktok")
    run = collection.run_create(account=account, kind="backfill")
    first = collection.run_execute(
        run_id=run.pk, transport=busy.transport(), limiter=limiter
    )
    assert first.status == "queued" and first.throttles == 1
    assert first.checkpoint["cursor"] and first.run_after > timezone.now()
    assert busy.requests.throttled_count(endpoint="tiktok.video.list") >= 1
    # TikTok throttled: the reply is an error-log row.
    assert ErrorLog.objects.filter(account=account, error_class="rate_limit").exists()

    done = drive(run.pk, busy, limiter, time_machine)
    assert done.status == "succeeded", done.error_summary
    assert done.throttles >= 1 and "Resumed after" in done.error_summary
    # Every page was fetched once: the same successful requests as the calm
    # run, and the profile only at the start.
    assert successful(busy, "tiktok.video.list") == pages
    assert busy.requests.count(endpoint="tiktok.user.info") == 1
    expected = ContentItem.objects.filter(account=calm_account).count()
    assert ContentItem.objects.filter(account=account).count() == expected
    # The running sum survived the attempts: the total is the sum of the
    # views each attempt stored (one reading per video).
    per_video = MetricSnapshot.objects.filter(
        item__account=account, metric="view_count"
    )
    assert per_video.count() == expected
    total = MetricSnapshot.objects.get(account=account, item=None, metric="view_count")
    assert total.value == sum(per_video.values_list("value_int", flat=True))


def test_a_run_throttled_for_good_ends_with_what_it_has(
    creator, limiter, time_machine, settings
):
    settings.COLLECTION_MAX_THROTTLES = 2
    busy = world(tiktok={"per_endpoint": 1})
    account = connect_to(busy, creator, "tiktok")
    run = collection.run_create(account=account, kind="backfill")
    done = drive(run.pk, busy, limiter, time_machine, attempts=5)
    assert done.status == "partial"
    assert done.error_summary.startswith("Gave up after 2 throttled attempts")
    assert 0 < ContentItem.objects.filter(account=account).count() < 100


def test_a_throttled_instagram_backfill_asks_each_media_once(
    creator, settings, limiter, time_machine
):
    """Batches are sized to the limiter's grant; what a throttled attempt
    finished is stored, and the next one asks only for the rest."""
    settings.PLATFORM_RATE_LIMITS = {"instagram": {"media_metrics": "400/h"}}
    forget_known_buckets()
    sb = world()
    account = connect_to(sb, creator, "instagram")
    run = collection.run_create(account=account, kind="backfill")
    first = collection.run_execute(
        run_id=run.pk, transport=sb.transport(), limiter=limiter
    )
    assert first.status == "queued", first.error_summary
    # A minute later the bucket has its burst back (about six slots).
    done = drive(run.pk, sb, limiter, time_machine, extra=60)
    assert done.status == "succeeded", done.error_summary
    assert done.throttles >= 2
    media = ContentItem.objects.filter(account=account).exclude(kind="story")
    assert media.count() == 100
    # One reach reading per post: no post's insights were asked twice.
    reach = MetricSnapshot.objects.filter(item__in=media, metric="reach")
    assert reach.count() == 100
    assert reach.values("item").distinct().count() == 100


def test_a_throttled_youtube_backfill_continues_with_the_next_video(
    creator, other_creator, settings, limiter, time_machine
):
    calm = world()
    calm_account = connect_to(calm, other_creator, "youtube")
    run = collection.run_create(account=calm_account, kind="backfill")
    assert drive(run.pk, calm, limiter, time_machine).status in ("succeeded", "partial")
    reports = calm.requests.counts()
    assert sum(reports.values()) > 100

    # A daily budget of 60 reports: each attempt spends what half a day
    # gives back (30 reports), then the run is re-queued.
    settings.PLATFORM_RATE_LIMITS = {"youtube": {"analytics": "60/d"}}
    forget_known_buckets()
    busy = world()
    account = connect_to(busy, creator, "youtube")
    run = collection.run_create(account=account, kind="backfill")
    done = drive(run.pk, busy, limiter, time_machine, extra=43200)
    assert done.status == "succeeded", done.error_summary
    assert done.throttles >= 2
    # The same requests as one unthrottled run: nothing was asked twice (the
    # days that passed only added token refreshes).
    asked = busy.requests.counts()
    assert asked.pop("google.oauth.token") >= 1
    assert asked == reports
    # The collector's last phase, then the item totals every run ends with.
    done_phases = CollectionRun.objects.get(pk=run.pk).checkpoint["done"]
    assert done_phases[-2:] == ["audience", "item_totals"]
