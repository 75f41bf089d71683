"""One test per recorded real response body (../shared/fixtures/recorded).

The sandbox imitates the platforms; these bodies are what the platforms
really sent, so the parsers are also checked against them. They are served
through `httpx.MockTransport`, the one place a fake transport is used.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from platforms import InstagramClient, YouTubeClient
from platforms.clients.instagram_insights import NOT_BUSINESS
from platforms.clients.youtube_analytics import parse_report
from platforms.exceptions import (
    InstagramAPIError,
    PlatformDataError,
    YouTubeAPIError,
    YouTubeAuthError,
)
from platforms.metrics import REVERSE_MAPPINGS

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "recorded"
if not RECORDED.exists():  # a checkout without the shared folder beside it
    RECORDED = Path("/work/shared/fixtures/recorded")


def body(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


def serving(
    name: str, status: int = 200, seen: list | None = None
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(
            status,
            content=(RECORDED / name).read_bytes(),
            headers={"content-type": "application/json"},
        )

    return httpx.MockTransport(handler)


def youtube(transport: httpx.MockTransport, **kwargs) -> YouTubeClient:
    return YouTubeClient(
        client_id="cid",
        client_secret="secret",
        api_key="key",
        access_token="ya29.example-token-000",
        transport=transport,
        sleep=lambda s: None,
        project="recorded",
        **kwargs,
    )


def instagram(transport: httpx.MockTransport, **kwargs) -> InstagramClient:
    return InstagramClient(
        client_id="app",
        client_secret="secret",
        access_token="EAAexampletoken0000000000",
        transport=transport,
        sleep=lambda s: None,
        ig_user_id="17841400000000001",
        **kwargs,
    )


# --- YouTube -----------------------------------------------------------------


def test_it_parses_recorded_video_statistics_exactly():
    raw = body("youtube/data_v3_videos_list_statistics_2019.json")
    item = raw["items"][0]
    stats = youtube(serving("youtube/data_v3_videos_list_statistics_2019.json"))
    result = stats.get_video_statistics([item["id"]])[item["id"]]
    assert result["metrics"]["view_count"] == int(item["statistics"]["viewCount"])
    assert result["metrics"]["like_count"] == int(item["statistics"]["likeCount"])


def test_it_parses_recorded_channel_statistics():
    raw = body("youtube/data_v3_channels_list_statistics.json")["items"][0]
    client = youtube(serving("youtube/data_v3_channels_list_statistics.json"))
    result = client.get_channel_metrics(channel_id=raw["id"])
    assert result["metrics"]["subscriber_count"] == int(
        raw["statistics"]["subscriberCount"]
    )
    assert result["metrics"]["video_count"] == int(raw["statistics"]["videoCount"])


def test_it_picks_the_channel_by_id_not_position():
    raw = body("youtube/data_v3_channels_list_multi_contentDetails.json")["items"]
    second = raw[1]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/channels"):
            return httpx.Response(200, json={"items": raw})
        return httpx.Response(200, json={"items": []})

    client = youtube(httpx.MockTransport(handler))
    client.list_upload_ids(channel_id=second["id"])
    uploads = second["contentDetails"]["relatedPlaylists"]["uploads"]
    assert seen[1].url.params["playlistId"] == uploads


def test_it_reads_video_ids_of_a_recorded_playlist_page():
    raw = body("youtube/data_v3_playlistItems_list_page1.json")
    client = youtube(serving("youtube/data_v3_playlistItems_list_page1.json"))
    page = client.data_get("playlistItems", {"part": "snippet", "playlistId": "PL"})
    ids = [client._playlist_video_id(item) for item in page["items"]]
    assert ids == [i["snippet"]["resourceId"]["videoId"] for i in raw["items"]]


def test_it_never_retries_a_recorded_invalid_key():
    seen: list = []
    client = youtube(serving("youtube/error_400_keyInvalid.json", 400, seen))
    with pytest.raises(YouTubeAPIError) as caught:
        client.get_video_statistics(["abc"])
    assert caught.value.reason == "keyInvalid" and caught.value.permanent
    assert len(seen) == 1


def test_it_classifies_a_recorded_permission_error():
    seen: list = []
    client = youtube(serving("youtube/error_403_permission_denied.json", 403, seen))
    with pytest.raises(YouTubeAuthError) as caught:
        client.get_video_statistics(["abc"])
    assert caught.value.permanent and len(seen) == 1


def test_it_parses_a_recorded_analytics_report_by_column_name():
    raw = body("youtube/analytics_v2_reports_query_day_many_metrics.json")
    client = youtube(
        serving("youtube/analytics_v2_reports_query_day_many_metrics.json")
    )
    rows = parse_report(client, client.report({"metrics": "views"}))
    names = [h["name"] for h in raw["columnHeaders"]]
    assert len(rows) == 31
    assert rows[0]["day"] == "2022-01-01"
    assert rows[0]["views"] == raw["rows"][0][names.index("views")]
    integer = [h["name"] for h in raw["columnHeaders"] if h["dataType"] == "INTEGER"]
    assert all(type(row[name]) is int for row in rows for name in integer)


def test_it_converts_integer_floats_and_refuses_fractions():
    table = {
        "columnHeaders": [
            {"name": "views", "columnType": "METRIC", "dataType": "INTEGER"}
        ],
        "rows": [[12.0]],
    }
    client = youtube(serving("youtube/oauth_token_response.json"))
    assert parse_report(client, table) == [{"views": 12}]
    table["rows"] = [[12.5]]
    with pytest.raises(PlatformDataError):
        parse_report(client, table)


def test_it_reads_a_recorded_google_token_reply():
    raw = body("youtube/oauth_token_response.json")
    client = youtube(
        serving("youtube/oauth_token_response.json"), redirect_uri="http://x/"
    )
    reply = client.get_access_token(code="recorded-code")
    assert reply["access_token"] == raw["access_token"]
    assert client._refresh_token == raw["refresh_token"]


# --- Instagram ----------------------------------------------------------------


def test_it_finds_the_business_account_in_a_recorded_pages_reply():
    raw = body("instagram/me_accounts_instagram_business_account.json")
    client = instagram(
        serving("instagram/me_accounts_instagram_business_account.json"),
    )
    client._ig_user_id = None
    expected = next(
        p["instagram_business_account"]["id"]
        for p in raw["data"]
        if "instagram_business_account" in p
    )
    assert client.discover_ig_user_id() == expected


def test_it_parses_a_recorded_profile():
    raw = body("instagram/ig_user_fields.json")
    result = instagram(serving("instagram/ig_user_fields.json")).get_user_profile()
    assert result["metrics"]["followers_count"] == raw["followers_count"]
    assert result["metrics"]["media_count"] == raw["media_count"]


def test_it_parses_a_recorded_business_discovery_reply():
    raw = body("instagram/ig_business_discovery_user.json")["business_discovery"]
    client = instagram(serving("instagram/ig_business_discovery_user.json"))
    result = client.get_business_discovery(raw["username"])
    assert result["metrics"]["followers_count"] == raw["followers_count"]


def test_it_reads_a_recorded_media_page():
    raw = body("instagram/ig_user_media_page1.json")
    media = instagram(serving("instagram/ig_user_media_page1.json")).list_media(limit=2)
    assert [m["id"] for m in media] == [m["id"] for m in raw["data"]][:2]


@pytest.mark.parametrize(
    "name",
    [
        "instagram/ig_media_insights_reels_pre_v22.json",
        "instagram/ig_media_insights_feed_legacy_impressions.json",
    ],
)
def test_it_parses_recorded_media_insights(name):
    raw = body(name)
    metrics = [item["name"] for item in raw["data"]]
    result = instagram(serving(name)).get_media_insights(
        "17900000000000001", metrics=metrics
    )
    standard = REVERSE_MAPPINGS["instagram"]
    for item in raw["data"]:
        expected = item["values"][-1]["value"]
        assert result["metrics"][standard.get(item["name"], item["name"])] == expected
    assert not result["unavailable"]


def test_it_parses_recorded_story_insights():
    raw = body("instagram/ig_story_insights.json")
    metrics = [item["name"] for item in raw["data"]]
    result = instagram(serving("instagram/ig_story_insights.json")).get_story_insights(
        "17800000000000001", metrics=metrics
    )
    assert result["metrics"]["reach"] == next(
        i["values"][0]["value"] for i in raw["data"] if i["name"] == "reach"
    )


@pytest.mark.parametrize(
    "name",
    [
        "instagram/ig_user_insights_total_value_breakdown.json",
        "instagram/ig_user_insights_period_day_legacy.json",
    ],
)
def test_it_parses_recorded_account_insights(name):
    raw = body(name)
    metrics = [item["name"] for item in raw["data"]]
    result = instagram(serving(name)).get_account_insights(metrics=metrics)
    assert result["metrics"]["reach"] is not None
    assert isinstance(result["metrics"]["reach"], int)


def test_it_normalises_recorded_follower_demographics():
    name = "instagram/ig_user_insights_follower_demographics_age_gender.json"
    raw = body(name)["data"][0]["total_value"]["breakdowns"][0]["results"]
    result = instagram(serving(name)).get_audience_demographics()
    buckets = result["metrics"]["demographics"]
    assert buckets[0] == {"key": "18-24/F", "value": raw[0]["value"]}
    assert len(buckets) == len(raw)


def test_it_reports_recorded_media_from_before_the_business_conversion():
    seen: list = []
    name = "instagram/error_100_subcode_2108006_posted_before_business.json"
    result = instagram(serving(name, 400, seen)).get_media_insights("179")
    assert result["unavailable"]["reach"] == NOT_BUSINESS and len(seen) == 1


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("instagram/error_100_subcode_33_unsupported_get.json", 100),
        ("instagram/error_10_permission_denied.json", 10),
        ("instagram/error_100_app_token_required.json", 100),
    ],
)
def test_it_never_retries_recorded_permanent_graph_errors(name, code):
    seen: list = []
    with pytest.raises(InstagramAPIError) as caught:
        instagram(serving(name, 400, seen)).get_user_profile()
    assert caught.value.code == code and caught.value.permanent
    assert caught.value.request_id and len(seen) == 1


def test_it_exchanges_for_a_recorded_long_lived_token():
    raw = body("instagram/oauth_long_lived_token_exchange.json")
    client = instagram(serving("instagram/oauth_long_lived_token_exchange.json"))
    client.refresh_now()
    assert client._access_token == raw["access_token"]
    assert client._access_expires_at is not None
