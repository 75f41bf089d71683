"""The integration guide's examples, run as written against a served sandbox.

The only change to the guide's text is that "…" placeholders hold the
sandbox's demo credentials and a real authorization code. The base URLs
come from settings, pointed at a sandbox on a free loopback port, so no
transport is injected: this is the path a deployment takes.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from platforms import (
    TikTokAPIError,
    TikTokAuthError,
    TikTokRateLimitError,
    YouTubeAPIError,
    YouTubeAuthError,
    YouTubeQuotaExceeded,
)
from platforms.sandbox import Sandbox
from platforms.sandbox.server import make_server
from tests.platforms.clients.conftest import run_coroutine

REDIRECT = "http://127.0.0.1:8000/connect/callback/"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def served_sandbox(settings):
    sandbox = Sandbox(seed=42)
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
    import html

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


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_it_runs_the_guide_examples_as_written(served_sandbox):
    from platforms import (
        BasePlatformClient,
        InstagramClient,
        TikTokClient,
        YouTubeClient,
    )

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
    granted = client.get_access_token(code=consent(client.get_authorization_url()))
    newest = client.list_videos(limit=1)[0]["id"]

    async def tiktok_guide(video_id: str) -> dict:
        try:
            metrics = await client.collect_metrics(
                video_id=video_id,
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
        return metrics

    unknown = run_coroutine(tiktok_guide("1234567890"))
    real = run_coroutine(tiktok_guide(newest))["metrics"]
    renewed = run_coroutine(client.refresh_auth_token())
    assert renewed["refresh_token"] != granted["refresh_token"]  # TikTok rotates it
    video = client.get_video_metrics(newest)["metrics"]
    user = client.get_user_metrics()

    yt = YouTubeClient(
        client_id="sandbox-google-client-id",
        client_secret="sandbox-google-client-secret",
        api_key="sandbox-youtube-api-key",
        redirect_uri=REDIRECT,
    )
    yt.configure_quota(
        daily_quota=10000,
        quota_costs={"analytics_read": 50, "data_read": 1, "video_upload": 1600},
    )
    yt.get_access_token(code=consent(yt.get_authorization_url()))
    video_id = yt.list_upload_ids()[10]

    async def youtube_guide() -> dict:
        try:
            analytics = await yt.get_analytics(
                video_id=video_id,
                metrics=[
                    "views",
                    "watch_time",
                    "average_view_duration",
                    "engagement_rate",
                ],
                start_date="2023-01-01",
                end_date="2026-12-31",
            )
        except YouTubeQuotaExceeded:
            raise
        except YouTubeAuthError:
            await yt.refresh_credentials()
            raise
        except YouTubeAPIError:
            raise
        await yt.refresh_credentials()
        return analytics

    analytics = run_coroutine(youtube_guide())
    units_used = yt.ledger.usage().units_used

    ig = InstagramClient(
        client_id="sandbox-facebook-app-id",
        client_secret="sandbox-facebook-app-secret",
        redirect_uri=REDIRECT,
    )
    auth_url = ig.get_authorization_url()
    token = ig.get_access_token(code=consent(auth_url))
    media_id = ig.list_media(limit=1)[0]["id"]
    story_id = ig.list_stories()[0]["id"]
    media = ig.get_media_insights(media_id)
    story = ig.get_story_insights(story_id)
    account = ig.get_account_insights()

    assert issubclass(TikTokClient, BasePlatformClient)
    # An id TikTok does not return is reported, not invented.
    assert unknown["video_id"] == "1234567890" and unknown["available"] is False
    assert set(unknown["metrics"].values()) == {None}
    assert set(unknown["unavailable"]) == set(unknown["metrics"])
    assert real["view_count"] == video["view_count"] > 0
    assert isinstance(real["view_count"], int)
    expected = (video["like_count"] + video["comment_count"] + video["share_count"]) / (
        video["view_count"]
    )
    assert real["engagement_rate"] == pytest.approx(expected)
    assert real["viral_coefficient"] == pytest.approx(
        video["share_count"] / video["view_count"]
    )
    assert user["metrics"]["follower_count"] > 0

    assert analytics["metrics"]["views"] > 0
    assert set(analytics["metrics"]) == {
        "views",
        "watch_time",
        "average_view_duration",
        "engagement_rate",
    }
    # 1 channels + 3 playlistItems pages (120 uploads) + one 50-unit report.
    assert units_used == 1 + 3 + 50

    assert token["access_token"] and token["expires_in"] > 86400  # long-lived
    assert media["media_id"] == media_id and media["metrics"]["reach"] > 0
    assert story["story_id"] == story_id
    assert set(story["metrics"]) >= {"reach", "replies"}
    assert account["metrics"]["reach"] > 0
