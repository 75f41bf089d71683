"""Contract tests: one per recorded fixture, plus TikTok's documented shapes.

Each test sends the request the fixture was recorded from (see
fixtures/recorded/SOURCES.md) and compares the structure of the sandbox's
reply with the recording: keys, nesting and JSON types.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .flows import (
    GOOGLE_AUTH,
    consent,
    facebook_token,
    google_params,
    google_token,
)
from .structure import assert_same_structure

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
YT = "https://www.googleapis.com/auth/"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def test_every_fixture_has_a_contract_test():
    names = {p.relative_to(RECORDED).as_posix() for p in RECORDED.rglob("*.json")}
    source = Path(__file__).read_text(encoding="utf-8")

    assert sorted(n for n in names if f'"{n}"' not in source) == []


# --- YouTube / Google ------------------------------------------------------


@pytest.fixture
def yt(sb):
    scopes = [YT + "youtube.readonly", YT + "yt-analytics-monetary.readonly"]
    token = sb.issue_tokens("youtube", "youtube-0", scopes)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def plain_video(sb, account: int = 0, index: int = 10) -> str:
    return sb.world.item(sb.world.accounts("youtube")[account], index).external_id


def test_videos_list_matches_the_recording(sb, client, yt):
    expected = recorded("youtube/data_v3_videos_list_statistics_2019.json")
    # dislikeCount left the API in December 2021; the sandbox follows today's API.
    del expected["items"][0]["statistics"]["dislikeCount"]

    reply = client.get(
        "/google-apis/youtube/v3/videos",
        params={
            "part": "snippet,contentDetails,status,statistics,topicDetails",
            "id": plain_video(sb),
        },
        headers=yt,
    )

    assert reply.status_code == 200
    # madeForKids joined `status` in 2020, after this 2019 recording.
    assert_same_structure(
        expected, reply.json(), extra={"$.items[].status.madeForKids"}
    )


def test_channels_list_matches_the_recording(sb, client, yt):
    expected = recorded("youtube/data_v3_channels_list_statistics.json")
    channel = sb.world.accounts("youtube")[0].external_id

    reply = client.get(
        "/google-apis/youtube/v3/channels",
        params={"part": "snippet,statistics", "id": channel},
        headers=yt,
    )

    assert reply.status_code == 200
    # statistics.commentCount is deprecated and no longer returned.
    assert_same_structure(
        expected, reply.json(), optional={"$.items[].statistics.commentCount"}
    )


def test_channels_with_content_details_match_the_recording(sb, client, yt):
    expected = recorded("youtube/data_v3_channels_list_multi_contentDetails.json")
    ids = ",".join(a.external_id for a in sb.world.accounts("youtube")[:2])

    reply = client.get(
        "/google-apis/youtube/v3/channels",
        params={
            "part": "snippet,contentDetails,statistics,brandingSettings",
            "id": ids,
        },
        headers=yt,
    )

    body = reply.json()
    assert len(body["items"]) == 2
    # Channel 1 hides its subscriber count: the key is absent, as on YouTube.
    assert_same_structure(
        expected, body, optional={"$.items[].statistics.subscriberCount"}
    )


def test_playlist_items_match_the_recording(sb, client, yt):
    expected = recorded("youtube/data_v3_playlistItems_list_page1.json")
    uploads = "UU" + sb.world.accounts("youtube")[0].external_id[2:]

    reply = client.get(
        "/google-apis/youtube/v3/playlistItems",
        params={"part": "snippet", "playlistId": uploads, "maxResults": 10},
        headers=yt,
    )

    body = reply.json()
    assert "nextPageToken" in body
    thumbs = "$.items[].snippet.thumbnails"
    assert_same_structure(
        expected,
        body,
        # Deleted and private entries carry `thumbnails: {}`.
        optional={
            f"{thumbs}.{size}"
            for size in ("default", "medium", "high", "standard", "maxres")
        },
        # The video owner fields were added in 2020, after this recording.
        extra={
            "$.items[].snippet.videoOwnerChannelTitle",
            "$.items[].snippet.videoOwnerChannelId",
        },
    )


def test_bad_api_key_matches_the_recording(client):
    expected = recorded("youtube/error_400_keyInvalid.json")

    reply = client.get(
        "/google-apis/youtube/v3/videos",
        params={"part": "statistics", "id": "x", "key": "not-a-key"},
    )

    assert reply.status_code == 400
    assert reply.json()["error"]["errors"][0]["reason"] == "keyInvalid"
    assert_same_structure(expected, reply.json())


def test_permission_error_matches_the_recording(sb, client):
    expected = recorded("youtube/error_403_permission_denied.json")
    token = sb.issue_tokens("youtube", 0, ["openid"])["access_token"]

    reply = client.get(
        "/google-apis/youtube/v3/channels",
        params={"part": "id", "mine": "true"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert reply.status_code == 403
    assert reply.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
    assert_same_structure(expected, reply.json())


def test_analytics_report_matches_the_recording(client, yt):
    expected = recorded("youtube/analytics_v2_reports_query_day_many_metrics.json")
    metrics = ",".join(c["name"] for c in expected["columnHeaders"][1:])

    reply = client.get(
        "/youtube-analytics/v2/reports",
        params={
            "ids": "channel==MINE",
            "dimensions": "day",
            "metrics": metrics,
            "startDate": "2026-05-01",
            "endDate": "2026-05-31",
        },
        headers=yt,
    )

    body = reply.json()
    assert reply.status_code == 200, body
    assert body["columnHeaders"] == expected["columnHeaders"]
    assert len(body["rows"]) == 31
    assert_same_structure(expected, body)


def test_oauth_token_reply_matches_the_recording(client):
    expected = recorded("youtube/oauth_token_response.json")
    code = consent(client, GOOGLE_AUTH, google_params())["code"]

    reply = google_token(client, grant_type="authorization_code", code=code)

    assert reply.status_code == 200
    assert_same_structure(expected, reply.json())


# --- Instagram / Facebook Graph ------------------------------------------------


@pytest.fixture
def ig(sb):
    return {"access_token": sb.issue_tokens("instagram", "instagram-0")["access_token"]}


def ig_id(sb, index: int = 0) -> str:
    return sb.world.accounts("instagram")[index].external_id


def ig_item(sb, product: str, account: int = 0):
    acc = sb.world.accounts("instagram")[account]
    return next(
        sb.world.item(acc, i)
        for i in range(9, acc.item_count)
        if sb.world.item(acc, i).product_type == product
    )


def graph(client, path: str, params: dict):
    return client.get(f"/facebook-graph/v25.0/{path}", params=params)


def test_me_accounts_matches_the_recording(client, ig):
    expected = recorded("instagram/me_accounts_instagram_business_account.json")

    reply = graph(client, "me/accounts", {**ig, "fields": "instagram_business_account"})

    assert reply.status_code == 200
    # The recording kept only the `before` cursor; Graph sends both.
    assert_same_structure(
        expected,
        reply.json(),
        optional={"$.data[].instagram_business_account"},
        extra={"$.paging.cursors.after"},
    )


def test_ig_user_fields_match_the_recording(sb, client, ig):
    expected = recorded("instagram/ig_user_fields.json")
    fields = ",".join(expected)

    reply = graph(client, ig_id(sb), {**ig, "fields": fields})

    assert_same_structure(expected, reply.json())


def test_business_discovery_matches_the_recording(sb, client, ig):
    expected = recorded("instagram/ig_business_discovery_user.json")
    inner = ",".join(expected["business_discovery"])
    target = sb.world.accounts("instagram")[1].handle

    reply = graph(
        client,
        ig_id(sb),
        {**ig, "fields": f"business_discovery.username({target}){{{inner}}}"},
    )

    assert reply.status_code == 200, reply.text
    assert_same_structure(expected, reply.json())


def test_user_media_page_matches_the_recording(sb, client, ig):
    expected = recorded("instagram/ig_user_media_page1.json")
    fields = ",".join(expected["data"][0])

    reply = graph(client, f"{ig_id(sb)}/media", {**ig, "fields": fields, "limit": 2})

    body = reply.json()
    assert len(body["data"]) == 2
    assert_same_structure(expected, body)


def test_reel_insights_match_the_recording_with_current_metrics(sb, client, ig):
    expected = recorded("instagram/ig_media_insights_reels_pre_v22.json")
    reel = ig_item(sb, "REELS").external_id
    # The recording predates v22.0: plays, clips_replays_count and
    # ig_reels_aggregated_all_plays_count are retired, and asking for them now
    # fails the whole call. Compare with a reply to the current metric set.
    legacy = ",".join(item["name"] for item in expected["data"])
    current = (
        "comments,ig_reels_avg_watch_time,ig_reels_video_view_total_time,"
        "likes,views,reach,saved,shares"
    )

    refused = graph(client, f"{reel}/insights", {**ig, "metric": legacy})
    reply = graph(client, f"{reel}/insights", {**ig, "metric": current})

    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == 100
    assert_same_structure(expected, reply.json())


def test_feed_insights_match_the_recording_with_current_metrics(sb, client, ig):
    expected = recorded("instagram/ig_media_insights_feed_legacy_impressions.json")
    post = ig_item(sb, "FEED").external_id
    # `impressions` is retired (v22.0); `views` replaces it with the same shape.

    refused = graph(
        client, f"{post}/insights", {**ig, "metric": "impressions,reach,saved"}
    )
    reply = graph(client, f"{post}/insights", {**ig, "metric": "views,reach,saved"})

    assert refused.json()["error"]["code"] == 100
    assert_same_structure(expected, reply.json())


def live_story(sb) -> str:
    account = sb.world.accounts("instagram")[0]
    now = sb.clock.now()
    slot = next(
        s
        for s in sb.world.stories(account, now)
        if sb.world.story_viewers(account, s) >= 5
    )
    return sb._services["facebook-graph"]._story_id(account, slot)


def test_story_insights_match_the_recording_with_current_metrics(sb, client, ig):
    expected = recorded("instagram/ig_story_insights.json")
    # `impressions` is retired: ask for views in its place.
    metrics = "replies,views,reach,follows,profile_visits,shares,total_interactions"

    reply = graph(client, f"{live_story(sb)}/insights", {**ig, "metric": metrics})

    assert reply.status_code == 200, reply.text
    assert_same_structure(expected, reply.json())


def test_user_insights_total_value_matches_the_recording(sb, client, ig):
    expected = recorded("instagram/ig_user_insights_total_value_breakdown.json")

    reply = graph(
        client,
        f"{ig_id(sb)}/insights",
        {
            **ig,
            "metric": "reach",
            "metric_type": "total_value",
            "period": "day",
            "breakdown": "media_product_type,follow_type",
            "timeframe": "last_14_days",
        },
    )

    assert reply.status_code == 200, reply.text
    assert_same_structure(expected, reply.json())


def test_user_insights_day_series_matches_the_recording_with_current_metrics(
    sb, client, ig
):
    expected = recorded("instagram/ig_user_insights_period_day_legacy.json")
    # impressions and profile_views (time series) are retired; reach and
    # follower_count keep the `values[].end_time` form.

    reply = graph(
        client,
        f"{ig_id(sb)}/insights",
        {**ig, "metric": "reach,follower_count", "period": "day"},
    )

    body = reply.json()
    assert [v["end_time"] for v in body["data"][0]["values"]] == [
        "2026-06-14T07:00:00+0000",
        "2026-06-15T07:00:00+0000",
    ]
    # The 2017 docs sample shows no `paging`; today's replies carry it.
    assert_same_structure(expected, body, extra={"$.paging"})


def test_follower_demographics_match_the_recording(sb, client, ig):
    expected = recorded(
        "instagram/ig_user_insights_follower_demographics_age_gender.json"
    )

    reply = graph(
        client,
        f"{ig_id(sb)}/insights",
        {
            **ig,
            "metric": "follower_demographics",
            "period": "lifetime",
            "metric_type": "total_value",
            "breakdown": "age,gender",
        },
    )

    assert reply.status_code == 200, reply.text
    assert_same_structure(expected, reply.json())


def test_posted_before_business_error_matches_the_recording(sb, client):
    expected = recorded(
        "instagram/error_100_subcode_2108006_posted_before_business.json"
    )
    token = sb.issue_tokens("instagram", "instagram-1")["access_token"]
    account = sb.world.accounts("instagram")[1]
    oldest = sb.world.item(account, account.item_count - 1).external_id

    reply = graph(
        client, f"{oldest}/insights", {"access_token": token, "metric": "reach"}
    )

    assert reply.status_code == 400
    assert reply.json()["error"]["error_subcode"] == 2108006
    assert_same_structure(expected, reply.json())


def test_unsupported_get_matches_the_recording(sb, client, ig):
    expected = recorded("instagram/error_100_subcode_33_unsupported_get.json")
    foreign = ig_item(sb, "FEED", account=1).external_id

    reply = graph(client, f"{foreign}/insights", {**ig, "metric": "reach"})

    assert reply.json()["error"]["error_subcode"] == 33
    assert_same_structure(expected, reply.json())


def test_permission_error_matches_the_graph_recording(sb, client):
    expected = recorded("instagram/error_10_permission_denied.json")
    token = sb.issue_tokens("instagram", 0, ["instagram_basic"])["access_token"]
    post = ig_item(sb, "FEED").external_id

    reply = graph(
        client, f"{post}/insights", {"access_token": token, "metric": "reach"}
    )

    assert reply.json()["error"]["code"] == 10
    assert_same_structure(expected, reply.json())


def test_plain_code_100_error_matches_the_recording(sb, client, ig):
    expected = recorded("instagram/error_100_app_token_required.json")
    # Same envelope as any plain (#100) error: a missing `metric` here.
    post = ig_item(sb, "FEED").external_id

    reply = graph(client, f"{post}/insights", ig)

    assert reply.json()["error"]["code"] == 100
    assert_same_structure(expected, reply.json())


def test_long_lived_exchange_matches_the_recording(sb, client, ig):
    expected = recorded("instagram/oauth_long_lived_token_exchange.json")

    reply = facebook_token(
        client, grant_type="fb_exchange_token", fb_exchange_token=ig["access_token"]
    )

    assert reply.status_code == 200
    assert reply.json()["expires_in"] == 5183944
    assert_same_structure(expected, reply.json())


# --- TikTok: documented shapes (no permissive recordings exist) ----------------

TIKTOK_ERROR = {"code": "ok", "message": "", "log_id": "20220101000000ABCDEF"}
TIKTOK_VIDEO = {
    "id": "7080000000000000000",
    "create_time": 1643332803,
    "cover_image_url": "https://p16-sign.tiktokcdn-us.com/x.jpeg",
    "share_url": "https://www.tiktok.com/@x/video/1",
    "video_description": "text",
    "duration": 15,
    "height": 1024,
    "width": 576,
    "title": "text",
    "embed_html": "<blockquote></blockquote>",
    "embed_link": "https://www.tiktok.com/player/v1/1",
    "like_count": 1,
    "comment_count": 1,
    "share_count": 1,
    "view_count": 1,
}
ALL_VIDEO_FIELDS = ",".join(TIKTOK_VIDEO)


@pytest.fixture
def tt(sb):
    tokens = sb.issue_tokens("tiktok", "tiktok-0")
    return tokens, {"Authorization": f"Bearer {tokens['access_token']}"}


def test_tiktok_token_reply_has_the_documented_shape(tt):
    tokens, _ = tt
    documented = {
        "access_token": "act.x",
        "expires_in": 86400,
        "open_id": "x",
        "refresh_expires_in": 31536000,
        "refresh_token": "rft.x",
        "scope": "user.info.basic,video.list",
        "token_type": "Bearer",
    }

    assert_same_structure(documented, tokens)


def test_tiktok_user_info_has_the_documented_shape(client, tt):
    _, headers = tt
    user = {
        "open_id": "x", "union_id": "x", "avatar_url": "x", "avatar_url_100": "x",
        "avatar_large_url": "x", "display_name": "x", "bio_description": "x",
        "profile_deep_link": "x", "is_verified": False, "username": "x",
        "follower_count": 1, "following_count": 1, "likes_count": 1, "video_count": 1,
    }  # fmt: skip

    reply = client.get(
        "/tiktok-open/v2/user/info/", params={"fields": ",".join(user)}, headers=headers
    )

    assert_same_structure({"data": {"user": user}, "error": TIKTOK_ERROR}, reply.json())


def test_tiktok_video_list_and_query_have_the_documented_shape(client, tt):
    _, headers = tt
    documented = {
        "data": {"videos": [TIKTOK_VIDEO], "cursor": 1643332803000, "has_more": True},
        "error": TIKTOK_ERROR,
    }

    listed = client.post(
        "/tiktok-open/v2/video/list/",
        params={"fields": ALL_VIDEO_FIELDS},
        json={"max_count": 20},
        headers=headers,
    ).json()
    ids = [v["id"] for v in listed["data"]["videos"]]
    queried = client.post(
        "/tiktok-open/v2/video/query/",
        params={"fields": ALL_VIDEO_FIELDS},
        json={"filters": {"video_ids": ids}},
        headers=headers,
    ).json()

    assert_same_structure(documented, listed)
    assert_same_structure(documented, queried)


def test_tiktok_errors_have_the_documented_shape(client):
    reply = client.get(
        "/tiktok-open/v2/user/info/",
        params={"fields": "open_id"},
        headers={"Authorization": "Bearer act.unknown"},
    )

    assert reply.status_code == 401
    body = reply.json()
    assert body["error"]["code"] == "access_token_invalid"
    assert_same_structure({"data": {}, "error": TIKTOK_ERROR}, body)


def test_tiktok_business_replies_have_the_documented_envelope(sb, client, tt):
    tokens, _ = tt
    # followers_count is both the current total and a daily metric.
    documented = {
        "code": 0,
        "message": "OK",
        "request_id": "x",
        "data": {
            "followers_count": 1,
            "audience_countries": [{"country": "US", "percentage": 0.5}],
            "metrics": [{"date": "2026-01-01", "video_views": 1, "followers_count": 1}],
        },
    }

    reply = client.get(
        "/tiktok-business/open_api/v1.3/business/get/",
        params={
            "business_id": tokens["open_id"],
            "fields": '["followers_count","audience_countries","video_views"]',
        },
        headers={"Access-Token": tokens["access_token"]},
    )

    body = reply.json()
    assert body["code"] == 0
    assert_same_structure(documented, body)
