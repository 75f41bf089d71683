"""A frozen sandbox world and accounts connected to it, for collector tests."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings as django_settings

from platforms.collectors import get_collector
from platforms.models import CollectionRun, ConnectedAccount
from platforms.ratelimit import (
    ENDPOINT_CLASSES,
    DatabaseLimiter,
    RedisLimiter,
    forget_known_buckets,
)
from platforms.sandbox import Sandbox
from platforms.services.collection import Progress
from platforms.tokens import save_token_reply

FROZEN_AT = "2026-06-15T12:00:00+00:00"
SMALL_WORLD = {
    "accounts": {"tiktok": 3, "youtube": 3, "instagram": 3},
    "items_per_account": 24,
    "history_days": 90,
}


@pytest.fixture(autouse=True)
def _generous_limits(settings):
    """Per-endpoint limits out of the way; the limiter has its own tests."""
    settings.PLATFORM_RATE_LIMITS = {
        platform: {
            name: "100000/m"
            for classes in ENDPOINT_CLASSES.values()
            for name, _per_account in classes
        }
        for platform in ("tiktok", "youtube", "instagram")
    }
    forget_known_buckets()
    yield
    forget_known_buckets()


@pytest.fixture(autouse=True)
def _aligned_clock(time_machine):
    """Django's clock and the sandbox's agree, as in production."""
    time_machine.move_to(FROZEN_AT, tick=True)


@pytest.fixture
def limiter():
    """The configured limiter backend, with Redis keys private to this test."""
    if django_settings.REDIS_URL:
        return RedisLimiter(
            django_settings.REDIS_URL, prefix=f"sm:test:{uuid.uuid4().hex}:"
        )
    return DatabaseLimiter()


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(
        seed=7, config={"clock": {"frozen_at": FROZEN_AT}, "world": SMALL_WORLD}
    )


@pytest.fixture
def connect(sb, creator):
    """connect(platform, index) → a ConnectedAccount with sandbox tokens."""

    def make(platform: str, index: int = 0) -> ConnectedAccount:
        world_account = sb.world.accounts(platform)[index]
        reply = sb.issue_tokens(platform, world_account.id)
        account = ConnectedAccount.objects.create(
            owner=creator,
            platform=platform,
            # TikTok's open_id is per app, as the token reply says.
            platform_user_id=reply.get("open_id") or world_account.external_id,
            handle=world_account.handle,
        )
        save_token_reply(account, reply)
        return account

    return make


@pytest.fixture
def collect(sb, limiter):
    """collect(account, backfill=True) → the finished CollectionRun."""

    def run(account: ConnectedAccount, *, backfill: bool = True) -> CollectionRun:
        from django.utils import timezone

        from platforms.services.collection import _finish

        kind = "backfill" if backfill else "scheduled"
        record = CollectionRun.objects.create(
            account=account, kind=kind, status="running"
        )
        progress = Progress(run=record)
        collector = get_collector(
            account=account,
            progress=progress,
            fetched_at=timezone.now(),
            transport=sb.transport(),
            limiter=limiter,
        )
        outcome = collector.collect(backfill=backfill)
        return _finish(
            record,
            progress,
            "partial" if outcome.failures else "succeeded",
            "; ".join(outcome.failures),
        )

    return run
