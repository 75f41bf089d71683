"""TikTok Display API v2 and API for Business behaviour."""

from __future__ import annotations

import httpx
import pytest

from platforms.sandbox import Sandbox

FIELDS = "id,create_time,view_count"


@pytest.fixture
def tt(sb):
    tokens = sb.issue_tokens("tiktok", "tiktok-0")
    return tokens, {"Authorization": f"Bearer {tokens['access_token']}"}


def video_list(client, headers, body):
    return client.post(
        "/tiktok-open/v2/video/list/",
        params={"fields": FIELDS},
        json=body,
        headers=headers,
    )


@pytest.mark.parametrize("short_rate", [0.3, 1.0])
def test_it_pages_every_video_newest_first_with_ms_cursors(short_rate):
    sb = Sandbox(seed=42, config={"world": {"short_page_rate": short_rate}})
    client = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
    token = sb.issue_tokens("tiktok", 0)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    seen, cursor, short_pages = [], None, 0
    while True:
        body = {"max_count": 20} | ({"cursor": cursor} if cursor else {})
        data = video_list(client, headers, body).json()["data"]
        seen.extend(data["videos"])
        short_pages += len(data["videos"]) < 20 and data["has_more"]
        if not data["has_more"]:
            break
        cursor = data["cursor"]
        assert cursor == data["videos"][-1]["create_time"] * 1000

    times = [v["create_time"] for v in seen]
    assert len({v["id"] for v in seen}) == len(seen) == 120
    assert times == sorted(times, reverse=True)
    if short_rate == 1.0:
        # Short pages, yet nothing is skipped or repeated.
        assert short_pages >= 5


def test_it_refuses_more_than_twenty_per_page(client, tt):
    _, headers = tt

    reply = video_list(client, headers, {"max_count": 21})

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_params"


def test_it_queries_at_most_twenty_ids_and_omits_foreign_ones(sb, client, tt):
    _, headers = tt
    mine = [
        sb.world.item(sb.world.accounts("tiktok")[0], i).external_id for i in range(3)
    ]
    theirs = sb.world.item(sb.world.accounts("tiktok")[1], 0).external_id

    def query(ids):
        return client.post(
            "/tiktok-open/v2/video/query/",
            params={"fields": "id"},
            json={"filters": {"video_ids": ids}},
            headers=headers,
        )

    found = query([*mine, theirs, "7000000000000000000"]).json()["data"]["videos"]
    too_many = query(mine * 7)

    assert sorted(v["id"] for v in found) == sorted(mine)
    assert too_many.status_code == 400


def test_it_gives_user_fields_only_for_granted_scopes(sb, client):
    token = sb.issue_tokens("tiktok", 0, ["user.info.basic"])["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    basic = client.get(
        "/tiktok-open/v2/user/info/", params={"fields": "open_id"}, headers=headers
    )
    stats = client.get(
        "/tiktok-open/v2/user/info/",
        params={"fields": "follower_count"},
        headers=headers,
    )
    videos = video_list(client, headers, {})

    assert basic.status_code == 200
    assert stats.json()["error"]["code"] == "scope_not_authorized"
    assert videos.json()["error"]["code"] == "scope_not_authorized"


def business(client, path, tokens, **params):
    return client.get(
        f"/tiktok-business/open_api/v1.3/business/{path}/",
        params={"business_id": tokens["open_id"], **params},
        headers={"Access-Token": tokens["access_token"]},
    )


def test_it_serves_daily_business_metrics_with_a_two_day_lag(sb, client, tt):
    tokens, _ = tt

    reply = business(
        client,
        "get",
        tokens,
        start_date="2026-06-01",
        end_date="2026-06-15",
        fields='["video_views","followers_count","audience_ages"]',
    ).json()

    dates = [m["date"] for m in reply["data"]["metrics"]]
    assert reply["code"] == 0
    assert dates[0] == "2026-06-01" and dates[-1] == "2026-06-13"
    assert abs(sum(a["percentage"] for a in reply["data"]["audience_ages"]) - 1) < 0.01


def test_it_lists_business_videos_with_retention_and_sources(client, tt):
    tokens, _ = tt

    reply = business(
        client,
        "video/list",
        tokens,
        fields='["item_id","video_views","video_view_retention","impression_sources"]',
        max_count=5,
    ).json()

    video = reply["data"]["videos"][0]
    assert reply["data"]["has_more"] is True
    assert video["video_view_retention"][0]["percentage"] == 1.0
    assert {s["impression_source"] for s in video["impression_sources"]} >= {"For You"}


def test_it_answers_business_errors_with_http_200(sb, client, tt):
    tokens, _ = tt
    personal = sb.issue_tokens("tiktok", "tiktok-1")
    small = sb.issue_tokens("tiktok", "tiktok-2")

    missing = client.get("/tiktok-business/open_api/v1.3/business/get/")
    revoked = business(client, "get", {**tokens, "access_token": "act.gone"})
    not_business = business(client, "get", personal)
    tiny = business(client, "get", small, fields='["audience_countries"]')
    too_old = business(
        client, "get", tokens, start_date="2026-01-01", end_date="2026-01-02"
    )

    assert {r.status_code for r in (missing, revoked, not_business, too_old)} == {200}
    assert missing.json()["code"] == 40104
    assert revoked.json()["code"] == 40105
    assert not_business.json()["code"] != 0
    assert tiny.json()["data"]["audience_countries"] == []
    assert too_old.json()["code"] == 40002
