"""TikTokClient against the sandbox: batching, validation, retries, tokens, logs."""

from __future__ import annotations

import logging
import random

import pytest

from platforms.exceptions import (
    PlatformDataError,
    TikTokAPIError,
    TikTokAuthError,
    TikTokRateLimitError,
)
from platforms.models import ApiCallLog, ConnectedAccount, ErrorLog, RateLimitBucket
from tests.platforms.clients.conftest import credential_of

pytestmark = pytest.mark.django_db

QUERY = "tiktok.video.query"


def test_it_queries_20_ids_per_request_and_matches_them_by_id(sb, make_tiktok):
    client = make_tiktok(0)
    listed = {v["id"]: v for v in client.list_videos(limit=45)}
    stranger = make_tiktok(1).list_videos(limit=1)[0]["id"]
    ids = list(listed)
    random.Random(7).shuffle(ids)
    ids += ["7000000000000000099", stranger]

    results = client.get_video_metrics(ids)

    assert sb.requests.count(endpoint=QUERY) == 3  # 47 ids → 20 + 20 + 7
    for vid, video in listed.items():
        assert results[vid]["video_id"] == vid
        assert results[vid]["metrics"]["view_count"] == video["view_count"]
        assert results[vid]["metrics"]["share_count"] == video["share_count"]
    for missing in ("7000000000000000099", stranger):
        assert results[missing]["available"] is False
        assert results[missing]["metrics"]["view_count"] is None
        assert "not returned by TikTok" in results[missing]["unavailable"]["view_count"]


def test_it_lists_videos_20_per_page_following_the_cursor(sb, make_tiktok):
    videos = make_tiktok(0).list_videos()
    assert len(videos) == 120
    assert len({v["id"] for v in videos}) == 120
    assert sb.requests.count(endpoint="tiktok.video.list") == 6


def test_it_says_why_a_metric_is_unavailable_instead_of_inventing_it(make_tiktok):
    client = make_tiktok(1)
    video_id = client.list_videos(limit=1)[0]["id"]
    result = client.get_video_metrics(
        video_id, metrics=["view_count", "sound_usage", "video_retention", "bogus"]
    )
    assert result["metrics"]["view_count"] > 0
    for name in ("sound_usage", "video_retention", "bogus"):
        assert result["metrics"][name] is None
        assert result["unavailable"][name]


def test_it_reads_the_envelope_error_code_in_an_http_200_reply(sb, make_tiktok):
    client = make_tiktok(0)
    video_id = client.list_videos(limit=1)[0]["id"]
    sb.faults.add(
        kind="throttle_in_200",
        platform="tiktok",
        endpoint=QUERY,
        count=1,
        retry_after=1,
    )
    result = client.get_video_metrics(video_id)
    assert result["available"] is True
    assert sb.requests.count(endpoint=QUERY) == 2  # throttled in a 200, then again
    throttled = ApiCallLog.objects.get(endpoint=QUERY, error_code="rate_limit_exceeded")
    assert throttled.status_code == 200


def test_it_raises_a_long_throttle_and_pauses_every_worker(sb, make_tiktok):
    client = make_tiktok(0)
    video_id = client.list_videos(limit=1)[0]["id"]
    # TikTok sends no Retry-After: a few short retries, then a pause for all.
    sb.faults.add(kind="burst_429", platform="tiktok", endpoint=QUERY, count=1, burst=9)
    with pytest.raises(TikTokRateLimitError) as caught:
        client.get_video_metrics(video_id)
    assert caught.value.status == 429 and caught.value.retry_after == 60
    assert sb.requests.count(endpoint=QUERY) == 3
    other_worker = make_tiktok(0)
    with pytest.raises(TikTokRateLimitError):
        other_worker.get_video_metrics(video_id)
    assert sb.requests.count(endpoint=QUERY) == 3  # not sent: the bucket is paused
    assert RateLimitBucket.objects.filter(blocked_reason__contains="throttled").exists()


@pytest.mark.parametrize(
    ("fault", "extra"),
    [
        ("status_500", {"status": 503}),
        ("timeout", {}),
        ("drop", {}),
        ("truncated_json", {}),
        ("malformed_json", {}),
    ],
)
def test_it_retries_transient_failures(sb, make_tiktok, fault, extra):
    client = make_tiktok(0)
    video_id = client.list_videos(limit=1)[0]["id"]
    sb.faults.add(kind=fault, platform="tiktok", endpoint=QUERY, count=2, **extra)
    assert client.get_video_metrics(video_id)["available"] is True
    assert sb.requests.count(endpoint=QUERY) == 3


def test_it_raises_a_data_error_with_context_when_bodies_stay_broken(sb, make_tiktok):
    client = make_tiktok(0)
    sb.faults.add(kind="malformed_json", platform="tiktok", endpoint=QUERY)
    with pytest.raises(PlatformDataError) as caught:
        client.get_video_metrics("7000000000000000001")
    assert caught.value.endpoint == QUERY and caught.value.status == 200
    assert "502 Bad Gateway" in caught.value.context["body_start"]
    assert sb.requests.count(endpoint=QUERY) == 3
    row = ErrorLog.objects.get(error_class="data")
    assert row.endpoint == QUERY and "not valid JSON" in row.message
    # The error says it has its row, so callers do not write a second one.
    assert caught.value.logged is True


def test_an_error_the_pipeline_did_not_record_is_not_marked_logged(make_tiktok):
    client = make_tiktok(0)

    found_later = client.data_error(QUERY, "video without a string id")

    assert found_later.logged is False
    assert not ErrorLog.objects.exists()


def test_it_never_retries_invalid_parameters_and_records_the_log_id(sb, make_tiktok):
    client = make_tiktok(0)
    with pytest.raises(TikTokAPIError) as caught:
        client.request(
            "tiktok.video.list",
            "POST",
            f"{client.api_url}/v2/video/list/",
            params={"fields": "id"},
            json_body={"max_count": 99},
        )
    assert caught.value.code == "invalid_params" and caught.value.permanent
    assert sb.requests.count(endpoint="tiktok.video.list") == 1
    row = ErrorLog.objects.get()
    assert (row.code, row.status_code, row.platform) == (
        "invalid_params",
        400,
        "tiktok",
    )
    assert row.request_id == caught.value.request_id != ""
    assert caught.value.logged is True


def test_it_refreshes_once_on_401_and_saves_the_rotated_token(
    sb, stored_account, make_tiktok
):
    account = stored_account("tiktok")
    before = credential_of(account)
    client = make_tiktok(account=account)
    sb.clock.advance(86400 + 60)  # the sandbox expires the access token

    assert client.get_user_metrics()["metrics"]["follower_count"] > 0

    after = credential_of(account)
    assert sb.requests.count(endpoint="tiktok.oauth.token") == 1
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token  # rotated, and saved
    assert after.access_expires_at > before.access_expires_at
    assert after.refresh_expires_at is not None and after.last_refreshed_at
    # The previous refresh token stopped working at the platform.
    with pytest.raises(TikTokAuthError) as caught:
        client.request_token_refresh(before.refresh_token)
    assert caught.value.code == "invalid_grant"


def test_it_refreshes_before_the_token_expires(sb, stored_account, make_tiktok):
    from datetime import UTC, datetime, timedelta

    account = stored_account("tiktok")
    credential = credential_of(account)
    stale = credential.access_token
    credential.access_expires_at = datetime.now(UTC) + timedelta(seconds=30)
    credential.save()
    make_tiktok(account=account).get_user_metrics()
    assert sb.requests.count(endpoint="tiktok.oauth.token") == 1
    assert sb.requests.count(endpoint="tiktok.user.info", token=stale) == 0


def test_it_refreshes_an_account_once_for_several_workers(
    sb, stored_account, make_tiktok
):
    account = stored_account("tiktok")
    first, second = make_tiktok(account=account), make_tiktok(account=account)
    first.authenticate(), second.authenticate()  # both hold the same token
    sb.clock.advance(86400 + 60)
    first.get_user_metrics()
    second.get_user_metrics()  # rejected, then finds the new token under the lock
    assert sb.requests.count(endpoint="tiktok.oauth.token") == 1
    assert sb.requests.count(endpoint="tiktok.user.info", status=200) == 2


def test_it_marks_reconnect_needed_on_invalid_grant_and_others_go_on(
    sb, stored_account, make_tiktok
):
    broken, healthy = stored_account("tiktok", 0), stored_account("tiktok", 1)
    sb.faults.add(
        kind="revoke_token", platform="tiktok", endpoint="tiktok.user.info", count=1
    )
    client = make_tiktok(account=broken)
    with pytest.raises(TikTokAuthError) as caught:
        client.get_user_metrics()
    assert caught.value.permanent
    broken.refresh_from_db()
    assert broken.status == ConnectedAccount.Status.RECONNECT_NEEDED
    assert "invalid_grant" in broken.status_reason
    sent = sb.requests.count()
    with pytest.raises(TikTokAuthError):
        client.get_user_metrics()  # not sent again
    assert sb.requests.count() == sent
    assert make_tiktok(account=healthy).get_user_metrics()["metrics"]["video_count"]


def test_it_waits_for_the_shared_limiter_or_raises_without_sending(
    sb, settings, make_tiktok
):
    settings.PLATFORM_RATE_LIMITS = {"tiktok": {"video_query": "2/h"}}
    client = make_tiktok(0)
    client.get_video_metrics("7000000000000000001")
    with pytest.raises(TikTokRateLimitError) as caught:
        client.get_video_metrics("7000000000000000002")
    assert caught.value.reason == "local_rate_limit"
    assert caught.value.retry_after > 60
    assert sb.requests.count(endpoint=QUERY) == 1


def test_it_logs_every_request_at_debug_without_tokens(sb, make_tiktok, caplog):
    logger = logging.getLogger("platforms.tiktok")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG, logger="platforms.tiktok")
    try:
        client = make_tiktok(0)
        token = client._access_token
        client.get_video_metrics("7000000000000000001")
        client.refresh_now()
    finally:
        logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records if r.name == "platforms.tiktok"]
    assert any(
        line.startswith("POST ")
        and "/v2/video/query/?fields=" in line
        and "-> 200 in " in line
        and "(quota 0)" in line
        for line in lines
    )
    assert any("/v2/oauth/token/" in line for line in lines)
    assert token not in caplog.text and client._refresh_token not in caplog.text
    assert (
        ApiCallLog.objects.filter(
            platform="tiktok", endpoint=QUERY, status_code=200
        ).count()
        == 1
    )
    assert ApiCallLog.objects.filter(endpoint="tiktok.oauth.token").exists()


def test_it_reads_retention_and_audience_from_the_business_api(sb, make_tiktok):
    client = make_tiktok(0)  # sandbox creator 0 is a business account
    video_id = client.list_videos(limit=1)[0]["id"]
    wanted = [
        "view_count",
        "video_retention",
        "audience_demographics",
        "reach",
        "average_watch_time",
        "sound_usage",
    ]
    result = client.fetch_metrics(video_id=video_id, metrics=wanted)
    metrics = result["metrics"]
    assert metrics["video_retention"][0] == {"second": "0", "percentage": 1.0}
    assert sum(c["percentage"] for c in metrics["audience_demographics"]) > 0
    assert isinstance(metrics["reach"], int) and metrics["average_watch_time"] > 0
    assert set(result["unavailable"]) == {"sound_usage"}
    assert sb.requests.count(endpoint="tiktok.business.video.list") == 1


def test_it_says_business_metrics_need_a_business_account(sb, make_tiktok):
    client = make_tiktok(1)  # a personal account
    video_id = client.list_videos(limit=1)[0]["id"]
    result = client.fetch_metrics(
        video_id=video_id, metrics=["view_count", "video_retention"]
    )
    assert result["metrics"]["view_count"] > 0
    assert result["metrics"]["video_retention"] is None
    assert "business account" in result["unavailable"]["video_retention"]
    assert sb.requests.count(endpoint="tiktok.business.video.list") == 1  # no retry


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_it_refreshes_once_for_concurrent_tasks_sharing_a_client(tmp_path):
    """Runs in a worker process on a file database that threads can share."""
    from tests.platforms.shared_database import run_workers, shared_database_env

    env = shared_database_env(tmp_path / "db")
    generous = dict.fromkeys(("video_query", "video_list", "video_metrics"), "9999/s")
    (result,) = run_workers("shared_client_refresh", [{"rates": generous}], env)
    assert result["token_calls"] == 1  # a second refresh would burn the rotated one
    assert result["rejected"] >= 1
    assert len(set(result["views"])) == 1 and result["views"][0] > 0
