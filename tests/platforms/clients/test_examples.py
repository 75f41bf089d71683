"""The integration guide's examples, run as written against a served sandbox.

The guide's lines run as one script: `async def main()` started with
`asyncio.run`, awaited and synchronous calls side by side, exactly the
constructor arguments, rate limits, quota costs, metrics and dates the guide
shows. The "…" placeholders hold the sandbox's demo credentials, real
authorization codes (approved on the sandbox's consent page, as a creator
would) and ids of the creator's own items, read from the sandbox world.
YouTube's consent uses the same `get_authorization_url()` /
`get_access_token(code=…)` the guide shows for TikTok and Instagram: the
Analytics API needs the creator's OAuth token.

The sandbox's clock stands at 2024-01-15, so the guide's 2023 date range
covers most of a real video's life. Base URLs come from settings, pointed at
the sandbox on a free loopback port (a thread, not a process), so no
transport is injected: this is the path a deployment takes.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import SynchronousOnlyOperation

from platforms import (
    TikTokAPIError,
    TikTokAuthError,
    TikTokRateLimitError,
    YouTubeAPIError,
    YouTubeAuthError,
    YouTubeQuotaExceeded,
)
from platforms.models import ApiCallLog
from platforms.sandbox import Sandbox
from platforms.sandbox.server import make_server

REDIRECT = "http://127.0.0.1:8000/connect/callback/"
SANDBOX_NOW = "2024-01-15T12:00:00+00:00"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def served_sandbox(settings):
    sandbox = Sandbox(seed=42, config={"clock": {"frozen_at": SANDBOX_NOW}})
    server = make_server("127.0.0.1", 0, sandbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for name, prefix in {
        "TIKTOK_AUTH_URL": "tiktok-www",
        "TIKTOK_API_URL": "tiktok-open",
        "GOOGLE_AUTH_URL": "google-accounts",
        "GOOGLE_TOKEN_URL": "google-oauth2",
        "YOUTUBE_API_URL": "google-apis",
        "YOUTUBE_ANALYTICS_URL": "youtube-analytics",
        "FACEBOOK_WWW_URL": "facebook-www",
        "FACEBOOK_GRAPH_URL": "facebook-graph",
    }.items():
        setattr(settings, name, f"{base}/{prefix}")
    yield sandbox
    sandbox.stop()
    server.shutdown()
    server.server_close()


def consent(auth_url: str) -> str:
    """Approve the sandbox consent page like a creator would; return the code."""
    with httpx.Client() as browser:
        page = browser.get(auth_url)
        assert page.status_code == 200, page.text[:300]
        form = {
            html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(page.text)
        }
        form["decision"] = "approve"
        answer = browser.post(auth_url.split("?")[0], data=form)
    assert answer.status_code == 302, answer.text[:300]
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    return query["code"][0]


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def youtube_video_of_2023(sandbox: Sandbox):
    """The first upload of the consenting channel posted before November 2023."""
    channel = sandbox.world.accounts("youtube")[0]
    return next(
        item
        for item in sandbox.world.items(channel, sandbox.clock.now())
        if item.posted_at < epoch("2023-11-01") and not item.deleted
    )


def live_story_with_viewers(sandbox: Sandbox) -> str:
    """A live story id with enough viewers for insights, as its owner sees it."""
    account = sandbox.world.accounts("instagram")[0]
    slots = sandbox.world.stories(account, sandbox.clock.now())
    token = sandbox.issue_tokens("instagram", account.id)["access_token"]
    listing = httpx.get(
        f"{django_settings.FACEBOOK_GRAPH_URL}/{django_settings.FACEBOOK_GRAPH_VERSION}"
        f"/{account.external_id}/stories",
        params={"access_token": token, "fields": "id"},
    ).json()["data"]
    assert len(listing) == len(slots)  # newest first, like the world's slots
    return next(
        story["id"]
        for story, slot in zip(listing, slots, strict=True)
        if sandbox.world.story_viewers(account, slot) >= 5
    )


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_guide_examples_as_written(served_sandbox, monkeypatch):
    from platforms import (
        BasePlatformClient,
        InstagramClient,
        TikTokClient,
        YouTubeClient,
    )

    # Django refuses ORM use on a thread that runs an event loop unless this
    # is set (the browser tests set it for Playwright); the guide's script
    # must work without it.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    world, now = served_sandbox.world, served_sandbox.clock.now()
    tiktok_video = next(world.items(world.accounts("tiktok")[0], now))
    youtube_video = youtube_video_of_2023(served_sandbox)
    instagram_media = next(world.items(world.accounts("instagram")[0], now))
    story_id = live_story_with_viewers(served_sandbox)
    seen: dict = {}

    async def main() -> None:
        # This thread runs an event loop: a direct ORM call is refused here.
        with pytest.raises(SynchronousOnlyOperation):
            ApiCallLog.objects.count()

        client = TikTokClient(
            client_key="sandbox-tiktok-client-key",
            client_secret="sandbox-tiktok-client-secret",
            redirect_uri=REDIRECT,
        )
        client.configure_rate_limits(
            max_requests_per_second=10,
            max_requests_per_minute=300,
            max_requests_per_hour=3600,
        )
        auth_url = client.get_authorization_url()
        seen["tiktok_token"] = client.get_access_token(code=consent(auth_url))
        try:
            metrics = await client.collect_metrics(
                video_id="1234567890",
                metrics=[
                    "view_count",
                    "share_count",
                    "engagement_rate",
                    "viral_coefficient",
                ],
            )
        except TikTokRateLimitError:
            raise
        except TikTokAuthError:
            await client.refresh_auth_token()
            raise
        except TikTokAPIError:
            raise
        seen["tiktok_collected"] = metrics
        seen["tiktok_video"] = client.get_video_metrics(tiktok_video.external_id)
        seen["tiktok_user"] = client.get_user_metrics()

        yt = YouTubeClient(
            client_id="sandbox-google-client-id",
            client_secret="sandbox-google-client-secret",
            api_key="sandbox-youtube-api-key",
        )
        yt.configure_quota(
            daily_quota=10000,
            quota_costs={"analytics_read": 50, "data_read": 1, "video_upload": 1600},
        )
        yt.get_access_token(code=consent(yt.get_authorization_url()))
        try:
            analytics = await yt.get_analytics(
                video_id=youtube_video.external_id,
                metrics=[
                    "views",
                    "watch_time",
                    "average_view_duration",
                    "engagement_rate",
                ],
                start_date="2023-01-01",
                end_date="2023-12-31",
            )
        except YouTubeQuotaExceeded:
            raise
        except YouTubeAuthError:
            await yt.refresh_credentials()
            raise
        except YouTubeAPIError:
            raise
        seen["analytics"] = analytics
        seen["yt"] = yt

        ig = InstagramClient(
            client_id="sandbox-facebook-app-id",
            client_secret="sandbox-facebook-app-secret",
            redirect_uri=REDIRECT,
        )
        auth_url = ig.get_authorization_url()
        token = ig.get_access_token(code=consent(auth_url))
        seen["ig_token"] = token
        seen["media"] = ig.get_media_insights(instagram_media.external_id)
        seen["story"] = ig.get_story_insights(story_id)
        seen["account"] = ig.get_account_insights()

    asyncio.run(main())

    assert issubclass(TikTokClient, BasePlatformClient)
    assert seen["tiktok_token"]["refresh_token"]
    # The guide's id is no video of this account: reported, never invented.
    unknown = seen["tiktok_collected"]
    assert unknown["video_id"] == "1234567890" and unknown["available"] is False
    assert set(unknown["metrics"].values()) == {None}
    assert set(unknown["unavailable"]) == set(unknown["metrics"])
    video = seen["tiktok_video"]["metrics"]
    assert video["view_count"] == tiktok_video.views(now) > 0
    assert video["share_count"] == tiktok_video.count("shares", now)
    assert video["engagement_rate"] == pytest.approx(
        (video["like_count"] + video["comment_count"] + video["share_count"])
        / video["view_count"]
    )
    user = seen["tiktok_user"]["metrics"]
    assert user["follower_count"] == world.followers(world.accounts("tiktok")[0], now)

    analytics = seen["analytics"]
    assert set(analytics["metrics"]) == {
        "views",
        "watch_time",
        "average_view_duration",
        "engagement_rate",
    }
    assert analytics["unavailable"] == {}
    assert analytics["period"] == {"start_date": "2023-01-01", "end_date": "2023-12-31"}
    # The video's 2023 views, day by day: real data, and not its whole life.
    in_2023 = youtube_video.views(epoch("2024-01-01")) - youtube_video.views(
        epoch("2023-01-01")
    )
    assert analytics["metrics"]["views"] == in_2023 > 0
    assert in_2023 < youtube_video.views(now)
    assert analytics["metrics"]["watch_time"] > 0
    assert analytics["metrics"]["average_view_duration"] > 0
    assert 0 < analytics["metrics"]["engagement_rate"] < 1
    # One report at the configured 50 units, charged before it was sent.
    assert seen["yt"].ledger.usage().units_used == 50

    assert seen["ig_token"]["expires_in"] > 86400  # exchanged for a long-lived one
    media = seen["media"]
    assert media["media_id"] == instagram_media.external_id
    assert media["metrics"]["reach"] == instagram_media.count("reach", now) > 0
    assert seen["story"]["story_id"] == story_id
    assert seen["story"]["metrics"]["reach"] > 0
    assert seen["account"]["metrics"]["reach"] > 0
    # Every call the script made was logged, from the worker threads.
    assert ApiCallLog.objects.filter(platform="youtube").count() == 2
