"""Fixtures for the client tests: a seeded sandbox and clients wired to it."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings as django_settings

from platforms import InstagramClient, TikTokClient, YouTubeClient
from platforms.clients.etags import ETAGS
from platforms.models import ConnectedAccount, Credential, Platform
from platforms.ratelimit import DatabaseLimiter, RedisLimiter, forget_known_buckets
from platforms.sandbox import Sandbox
from platforms.tokens import save_token_reply

FROZEN_AT = "2026-06-15T12:00:00+00:00"
GENEROUS = "100000/m"


@pytest.fixture(autouse=True)
def _generous_limits(settings):
    """Per-endpoint limits out of the way; the limiter tests set their own."""
    classes = (
        "user_info",
        "video_list",
        "video_query",
        "video_metrics",
        "user_metrics",
        "analytics",
        "user_profile",
        "media_metrics",
        "story_metrics",
        "business_discovery",
        "app_usage",
    )
    settings.PLATFORM_RATE_LIMITS = {
        platform: dict.fromkeys(classes, GENEROUS)
        for platform in ("tiktok", "youtube", "instagram")
    }
    forget_known_buckets()
    yield
    forget_known_buckets()


@pytest.fixture(autouse=True)
def _fresh_etag_cache():
    """The process-wide ETag cache starts empty in every test."""
    ETAGS.clear()
    yield
    ETAGS.clear()


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(seed=42, config={"clock": {"frozen_at": FROZEN_AT}})


@pytest.fixture
def limiter():
    """The configured backend, with Redis keys private to this test."""
    if django_settings.REDIS_URL:
        return RedisLimiter(
            django_settings.REDIS_URL, prefix=f"sm:test:{uuid.uuid4().hex}:"
        )
    return DatabaseLimiter()


def no_sleep(seconds: float) -> None:
    """Retries back off without making the suite wait."""


@pytest.fixture
def make_tiktok(sb, limiter):
    def make(index: int = 0, **kwargs) -> TikTokClient:
        if "access_token" not in kwargs and "account" not in kwargs:
            reply = sb.issue_tokens("tiktok", sb.world.accounts("tiktok")[index].id)
            kwargs |= {
                "access_token": reply["access_token"],
                "refresh_token": reply["refresh_token"],
            }
        return TikTokClient(
            client_key="sandbox-tiktok-client-key",
            client_secret="sandbox-tiktok-client-secret",
            redirect_uri="http://127.0.0.1:8000/connect/tiktok/callback/",
            transport=sb.transport(),
            **{"limiter": limiter, "sleep": no_sleep, **kwargs},
        )

    return make


@pytest.fixture
def make_youtube(sb, limiter):
    def make(index: int = 0, **kwargs) -> YouTubeClient:
        if "access_token" not in kwargs and "account" not in kwargs:
            reply = sb.issue_tokens("youtube", sb.world.accounts("youtube")[index].id)
            kwargs |= {
                "access_token": reply["access_token"],
                "refresh_token": reply.get("refresh_token"),
            }
        return YouTubeClient(
            client_id="sandbox-google-client-id",
            client_secret="sandbox-google-client-secret",
            api_key="sandbox-youtube-api-key",
            transport=sb.transport(),
            project=f"test-{uuid.uuid4().hex[:8]}",
            **{"limiter": limiter, "sleep": no_sleep, **kwargs},
        )

    return make


@pytest.fixture
def make_instagram(sb, limiter):
    def make(index: int = 0, **kwargs) -> InstagramClient:
        if "access_token" not in kwargs and "account" not in kwargs:
            reply = sb.issue_tokens(
                "instagram", sb.world.accounts("instagram")[index].id
            )
            kwargs |= {"access_token": reply["access_token"]}
        return InstagramClient(
            client_id="sandbox-facebook-app-id",
            client_secret="sandbox-facebook-app-secret",
            redirect_uri="http://127.0.0.1:8000/connect/instagram/callback/",
            transport=sb.transport(),
            **{"limiter": limiter, "sleep": no_sleep, **kwargs},
        )

    return make


@pytest.fixture
def stored_account(creator, sb):
    """A ConnectedAccount with tokens from the sandbox saved in its Credential."""

    def make(platform: str, index: int = 0) -> ConnectedAccount:
        remote = sb.world.accounts(platform)[index]
        reply = sb.issue_tokens(platform, remote.id)
        account = ConnectedAccount.objects.create(
            owner=creator,
            platform=Platform(platform),
            platform_user_id=str(
                reply.get("open_id") or remote.external_id or remote.id
            ),
            handle=remote.handle,
        )
        save_token_reply(account, reply)
        return account

    return make


def credential_of(account: ConnectedAccount) -> Credential:
    return Credential.objects.get(account=account)


def run_coroutine(coroutine):
    """Run a coroutine to completion on a fresh event loop in its own thread.

    Other suites (Playwright's sync API) may leave an event loop running in
    the main thread, where `asyncio.run` refuses to start.
    """
    import asyncio
    import threading

    outcome: dict = {}

    def main() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=main)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
