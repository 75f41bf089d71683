"""YouTubeClient against the sandbox: batching, ETags, quota, errors, tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from platforms.clients.etags import ETAGS, ETagCache
from platforms.exceptions import (
    YouTubeAPIError,
    YouTubeAuthError,
    YouTubeQuotaExceeded,
    YouTubeRateLimitError,
)
from platforms.models import ApiCallLog, QuotaUsage
from platforms.quota import next_reset
from platforms.sandbox import Sandbox
from platforms.signals import notify_quota_exceeded
from tests.platforms.clients.conftest import FROZEN_AT, credential_of, run_coroutine

pytestmark = pytest.mark.django_db

VIDEOS = "youtube.videos"


def test_it_asks_for_50_videos_per_call_and_matches_them_by_id(sb, make_youtube):
    client = make_youtube(0)
    uploads = client.list_upload_ids()
    assert len(uploads) == 120
    listing_units = client.ledger.usage().units_used  # channels + 3 pages
    ids = list(reversed(uploads)) + ["tnmqEeGa0yw", "tnmqEeGdk2E", "nonexistent1"]

    stats = client.get_video_statistics(ids)

    assert sb.requests.count(endpoint=VIDEOS) == 3  # 121 distinct ids: 50+50+21
    assert client.ledger.usage().units_used == listing_units + 3
    for gone in ("tnmqEeGa0yw", "tnmqEeGdk2E", "nonexistent1"):  # deleted, private
        assert stats[gone]["available"] is False
        assert stats[gone]["metrics"]["view_count"] is None
    sample = next(v for v in uploads if v not in ("tnmqEeGa0yw", "tnmqEeGdk2E"))
    assert stats[sample]["video_id"] == sample
    assert isinstance(stats[sample]["metrics"]["view_count"], int)


def test_it_reports_hidden_likes_and_disabled_comments_as_missing(make_youtube):
    stats = make_youtube(0).get_video_statistics(["tnmqEeGYRNE", "tnmqEeGbRIs"])
    hidden, closed = stats["tnmqEeGYRNE"], stats["tnmqEeGbRIs"]
    assert hidden["metrics"]["like_count"] is None
    assert hidden["unavailable"]["like_count"] == "likes are hidden on this video"
    assert hidden["metrics"]["engagement_rate"] is None
    assert "like_count" in hidden["unavailable"]["engagement_rate"]
    assert closed["metrics"]["comment_count"] is None
    assert closed["metrics"]["view_count"] > 0


def test_it_revalidates_with_etags(sb, make_youtube):
    client = make_youtube(0)
    first = client.get_video_statistics(["tnmqEeGYRNE", "tnmqEeGbRIs"])
    second = client.get_video_statistics(["tnmqEeGYRNE", "tnmqEeGbRIs"])
    assert first == second
    assert sb.requests.count(endpoint=VIDEOS, status=304) == 1
    assert ApiCallLog.objects.filter(endpoint=VIDEOS, status_code=304).count() == 1


def test_the_call_log_names_the_project_each_call_was_charged_to(make_youtube):
    one, other = make_youtube(0), make_youtube(1)
    one.get_video_statistics(["tnmqEeGYRNE"])
    other.get_video_statistics(["tnmqEeGYRNE"])
    charged = ApiCallLog.objects.filter(endpoint=VIDEOS)
    assert sorted(charged.values_list("project", flat=True)) == sorted(
        [one.ledger.project, other.ledger.project]
    )
    assert one.ledger.project != other.ledger.project


def test_a_new_client_instance_revalidates_what_an_earlier_one_fetched(
    sb, stored_account, make_youtube
):
    """Collectors build a client per run: the ETag cache outlives each one."""
    account = stored_account("youtube", 0)
    with make_youtube(account=account) as first_run:
        uploads = first_run.list_upload_ids()  # channels + 3 playlistItems pages
        stats = first_run.get_video_statistics(uploads[:50])
    assert sb.requests.count(platform="youtube", status=304) == 0
    with make_youtube(account=account) as second_run:
        assert second_run.list_upload_ids() == uploads
        assert second_run.get_video_statistics(uploads[:50]) == stats
    # Every request of the second run went out with If-None-Match and the
    # sandbox answered 304 (it does so only for a matching ETag).
    assert sb.requests.count(endpoint="youtube.channels", status=304) == 1
    assert sb.requests.count(endpoint="youtube.playlistItems", status=304) == 3
    assert sb.requests.count(endpoint=VIDEOS, status=304) == 1
    assert second_run.http.is_closed  # `with` closed the connection pool


def test_the_etag_cache_is_keyed_by_hashes_never_by_tokens(sb, make_youtube):
    client = make_youtube(0)
    client.get_video_statistics(["tnmqEeGYRNE"])
    keyed = make_youtube(0, access_token=None)  # API key instead of OAuth
    keyed.get_video_statistics(["tnmqEeGYRNE"])
    keyed.get_video_statistics(["tnmqEeGYRNE"])
    assert sb.requests.count(endpoint=VIDEOS, status=304) == 1  # the keyed repeat
    keys = ETAGS.keys()
    assert len(keys) == 2  # the OAuth view and the API-key view, kept apart
    for key in keys:
        assert len(key) == 64 and int(key, 16) >= 0  # a SHA-256 digest
        assert client._access_token not in key and "sandbox-youtube" not in key


def test_the_etag_cache_keeps_only_the_most_recent_entries():
    cache = ETagCache(max_entries=2)
    cache.put("a", '"1"', {"items": [1]})
    cache.put("b", '"2"', {"items": [2]})
    assert cache.get("a") == ('"1"', {"items": [1]})  # a is now the newest
    cache.put("c", '"3"', {"items": [3]})
    assert "b" not in cache and "a" in cache and "c" in cache
    etag, payload = cache.get("c")
    payload["items"].append("changed by one caller")
    assert cache.get("c") == ('"3"', {"items": [3]})  # others still read the reply


def test_it_refuses_a_call_that_would_pass_the_daily_quota_without_sending(
    sb, make_youtube
):
    client = make_youtube(0)
    client.configure_quota(daily_quota=3)
    for video_id in ("tnmqEeGYRNE", "tnmqEeGbRIs", "tnmqEeGdRQA"):
        client.get_video_statistics([video_id])
    with pytest.raises(YouTubeQuotaExceeded) as caught:
        client.get_video_statistics(["tnmqEeGYRNE"])
    assert caught.value.code == "quota_would_exceed" and caught.value.endpoint == VIDEOS
    assert sb.requests.count(endpoint=VIDEOS) == 3
    assert client.ledger.usage().units_used == 3


def test_it_marks_the_project_exhausted_on_quota_exceeded_and_never_retries(
    make_youtube, limiter
):
    from platforms import YouTubeClient

    tight = Sandbox(
        seed=42,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "limits": {"youtube": {"daily_quota": 2}},
        },
    )
    reply = tight.issue_tokens("youtube", tight.world.accounts("youtube")[0].id)
    client = YouTubeClient(
        client_id="sandbox-google-client-id",
        client_secret="sandbox-google-client-secret",
        api_key="sandbox-youtube-api-key",
        access_token=reply["access_token"],
        transport=tight.transport(),
        limiter=limiter,
        sleep=lambda s: None,
        project="tight-project",
    )
    signals = []

    def listener(sender, **kwargs):
        signals.append(kwargs)

    notify_quota_exceeded.connect(listener)
    try:
        client.get_video_statistics(["tnmqEeGYRNE"])
        client.get_video_statistics(["tnmqEeGbRIs"])
        with pytest.raises(YouTubeQuotaExceeded) as caught:
            client.get_video_statistics(["tnmqEeGdRQA"])
        with pytest.raises(YouTubeQuotaExceeded):
            client.get_video_statistics(["tnmqEeGdRQA"])  # refused locally now
    finally:
        notify_quota_exceeded.disconnect(listener)
    assert caught.value.reason == "quotaExceeded" and caught.value.status == 403
    assert tight.requests.count(endpoint=VIDEOS) == 3  # no retry, then nothing sent
    row = QuotaUsage.objects.get(project="tight-project")
    assert row.exhausted_until == next_reset(datetime.now(UTC))
    assert row.units_used == 3  # the refused call was charged too
    assert signals and signals[0]["platform"] == "youtube"


def test_it_retries_short_term_rate_limits(sb, make_youtube):
    client = make_youtube(0)
    sb.faults.add(
        kind="throttle_in_200",
        platform="youtube",
        endpoint=VIDEOS,
        count=1,
        retry_after=1,
    )
    assert client.get_video_statistics(["tnmqEeGYRNE"])["tnmqEeGYRNE"]["available"]
    assert sb.requests.count(endpoint=VIDEOS) == 2
    sb.faults.add(
        kind="burst_429", platform="youtube", endpoint=VIDEOS, count=1, burst=9
    )
    with pytest.raises(YouTubeRateLimitError):
        client.get_video_statistics(["tnmqEeGbRIs"])


def test_it_refreshes_on_401_and_keeps_the_refresh_token_google_omits(
    sb, stored_account, make_youtube
):
    account = stored_account("youtube")
    before = credential_of(account)
    client = make_youtube(account=account)
    sb.clock.advance(3600)
    client.get_video_statistics(["tnmqEeGYRNE"])
    after = credential_of(account)
    assert sb.requests.count(endpoint="google.oauth.token") == 1
    assert after.access_token != before.access_token
    assert after.refresh_token == before.refresh_token


def test_it_marks_reconnect_needed_when_google_refuses_the_refresh(
    sb, stored_account, make_youtube
):
    account = stored_account("youtube")
    sb.faults.add(kind="revoke_token", platform="youtube", endpoint=VIDEOS, count=1)
    with pytest.raises(YouTubeAuthError) as caught:
        make_youtube(account=account).get_video_statistics(["tnmqEeGYRNE"])
    assert caught.value.code == "invalid_grant"
    account.refresh_from_db()
    assert account.status == "reconnect_needed"


def test_it_uses_the_api_key_without_a_user_token_and_redacts_it(
    sb, make_youtube, caplog
):
    import logging

    logger = logging.getLogger("platforms.youtube")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="platforms.youtube")
    try:
        client = make_youtube(0, access_token=None)
        stats = client.get_video_statistics(["tnmqEeGYRNE"])
    finally:
        logger.removeHandler(caplog.handler)
    assert stats["tnmqEeGYRNE"]["available"]
    assert sb.requests.recent(endpoint=VIDEOS)[-1]["token"] is None
    assert "key=[REDACTED]" in caplog.text and "(quota 1)" in caplog.text
    assert "sandbox-youtube-api-key" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_it_reads_analytics_and_reports_unavailable_revenue(sb, make_youtube):

    client = make_youtube(0)
    video_id = client.list_upload_ids()[20]
    result = run_coroutine(
        client.get_analytics(
            video_id=video_id,
            metrics=[
                "views",
                "watch_time",
                "engagement_rate",
                "revenue",
                "audience_retention",
            ],
            start_date="2026-01-01",
            end_date="2026-06-10",
        )
    )
    metrics = result["metrics"]
    assert isinstance(metrics["views"], int) and metrics["views"] > 0
    assert isinstance(metrics["watch_time"], int)
    assert metrics["revenue"] is None and "monetary" in result["unavailable"]["revenue"]
    assert metrics["audience_retention"][0]["elapsedVideoTimeRatio"] > 0
    forbidden = sb.requests.count(endpoint="youtube.analytics.reports", status=403)
    assert forbidden == 1  # the permission error was not retried


def test_it_never_retries_a_bad_request(sb, make_youtube):
    client = make_youtube(0)
    with pytest.raises(YouTubeAPIError) as caught:
        client.data_get(
            "playlistItems",
            {"part": "contentDetails", "playlistId": "UUx", "pageToken": "bogus"},
        )
    assert caught.value.permanent
    assert sb.requests.count(endpoint="youtube.playlistItems") == 1


def test_it_collects_counters_and_analytics_totals_together(sb, make_youtube):
    client = make_youtube(0)
    video_id = client.list_upload_ids()[30]
    wanted = ["view_count", "engagement_rate", "watch_time", "subscriber_gain"]
    result = client.fetch_metrics(video_id=video_id, metrics=wanted)
    assert set(result["metrics"]) == set(wanted)
    assert result["sources"]["view_count"] == "youtube.videos"
    assert result["sources"]["watch_time"] == "youtube.analytics.reports"
    assert isinstance(result["metrics"]["watch_time"], int)
    assert result["period"]["start_date"] == "2005-02-14"
    keyed = make_youtube(0, access_token=None).fetch_metrics(
        video_id=video_id, metrics=wanted
    )
    assert keyed["metrics"]["view_count"] == result["metrics"]["view_count"]
    assert keyed["metrics"]["watch_time"] is None
    assert "OAuth" in keyed["unavailable"]["watch_time"]


def test_it_reports_click_through_rate_unavailable_without_asking(sb, make_youtube):
    """The thumbnail CTR is no Analytics API metric; cardClickRate is another one."""
    client = make_youtube(0)
    video_id = sb.world.item(sb.world.accounts("youtube")[0], 30).external_id
    result = client.fetch_analytics(
        video_id=video_id,
        metrics=["click_through_rate"],
        start_date="2026-01-01",
        end_date="2026-06-10",
    )
    assert result["metrics"] == {"click_through_rate": None}
    assert "thumbnail" in result["unavailable"]["click_through_rate"]
    assert sb.requests.count(endpoint="youtube.analytics.reports") == 0
    both = client.fetch_analytics(
        video_id=video_id,
        metrics=["views", "click_through_rate"],
        start_date="2026-01-01",
        end_date="2026-06-10",
    )
    assert (
        both["metrics"]["views"] > 0 and both["metrics"]["click_through_rate"] is None
    )
    assert sb.requests.count(endpoint="youtube.analytics.reports") == 1
