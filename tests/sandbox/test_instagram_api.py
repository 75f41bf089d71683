"""Instagram Graph API behaviour: paging, insights, stories and discovery."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest


@pytest.fixture
def token(sb):
    return sb.issue_tokens("instagram", "instagram-0")["access_token"]


def graph(client, path, **params):
    return client.get(f"/facebook-graph/v25.0/{path}", params=params)


def ig(sb, index=0):
    return sb.world.accounts("instagram")[index].external_id


def test_it_pages_media_by_following_paging_next(sb, client, token):
    seen = []
    reply = graph(
        client, f"{ig(sb)}/media", access_token=token, fields="id,timestamp", limit=50
    )
    while True:
        body = reply.json()
        seen.extend(m["id"] for m in body["data"])
        if "next" not in body.get("paging", {}):
            break
        url = urlsplit(body["paging"]["next"])
        reply = client.get(f"{url.path}?{url.query}")

    assert len(seen) == len(set(seen)) == 120


def test_it_hides_other_accounts_from_a_token(sb, client, token):
    reply = graph(client, ig(sb, 1), access_token=token, fields="id")

    assert reply.json()["error"]["error_subcode"] == 33


def test_it_fails_the_whole_call_for_one_retired_metric(sb, client, token):
    account = sb.world.accounts("instagram")[0]
    post = sb.world.item(account, 20).external_id

    for retired in ("video_views", "impressions", "plays", "clips_replays_count",
                    "ig_reels_aggregated_all_plays_count"):  # fmt: skip
        reply = graph(
            client, f"{post}/insights", access_token=token, metric=f"reach,{retired}"
        )
        assert reply.json()["error"]["code"] == 100, retired
        assert "data" not in reply.json()


def test_it_reports_story_insights_for_a_day_only(sb, client, token):
    service = sb._services["facebook-graph"]
    account = sb.world.accounts("instagram")[0]
    stories = graph(
        client, f"{ig(sb)}/stories", access_token=token, fields="id"
    ).json()["data"]
    assert stories
    now = sb.clock.now()
    slot = next(
        s
        for s in sb.world.stories(account, now)
        if sb.world.story_viewers(account, s) >= 5
    )
    story = service._story_id(account, slot)

    live = graph(
        client, f"{story}/insights", access_token=token, metric="reach,replies"
    )
    sb.clock.advance(86400)
    expired = graph(
        client, f"{story}/insights", access_token=token, metric="reach,replies"
    )

    assert live.status_code == 200
    assert expired.status_code == 400


def test_it_refuses_story_insights_under_five_viewers(sb, client, token):
    service = sb._services["facebook-graph"]
    account = sb.world.accounts("instagram")[0]
    # Every fourth story (slot % 4 == 1) has three viewers.
    for _ in range(8):
        now = sb.clock.now()
        quiet = [
            s
            for s in sb.world.stories(account, now)
            if sb.world.story_viewers(account, s) < 5
        ]
        if quiet:
            break
        sb.clock.advance(6 * 3600)
    story = service._story_id(account, quiet[0])

    reply = graph(client, f"{story}/insights", access_token=token, metric="reach")

    assert reply.json()["error"]["code"] == 10


def test_it_needs_a_hundred_followers_for_demographics(sb, client):
    small = sb.world.accounts("instagram")[2]
    token = sb.issue_tokens("instagram", small.id)["access_token"]

    reply = graph(
        client,
        f"{small.external_id}/insights",
        access_token=token,
        metric="follower_demographics",
        period="lifetime",
        metric_type="total_value",
        breakdown="country",
    )

    assert sb.world.followers(small, sb.clock.now()) < 100
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == 10


def test_it_sends_day_series_ending_at_pacific_midnight(sb, client, token):
    reply = graph(
        client,
        f"{ig(sb)}/insights",
        access_token=token,
        metric="reach",
        period="day",
        since=1772870400,  # 2026-03-07T08:00:00Z
        until=1773043200,  # 2026-03-09T08:00:00Z
    ).json()

    ends = [v["end_time"] for v in reply["data"][0]["values"]]
    # Clocks spring forward on 2026-03-08: PST midnight is 08:00Z, PDT 07:00Z.
    assert ends == ["2026-03-08T08:00:00+0000", "2026-03-09T07:00:00+0000"]


def test_it_limits_insight_ranges_to_thirty_days(sb, client, token):
    reply = graph(
        client,
        f"{ig(sb)}/insights",
        access_token=token,
        metric="reach",
        period="day",
        since=1770000000,
        until=1770000000 + 31 * 86400,
    )

    assert reply.json()["error"]["code"] == 100


def test_it_discovers_other_accounts_without_hidden_like_counts(sb, client, token):
    target = sb.world.accounts("instagram")[1]
    media = "media{like_count,comments_count}"
    fields = f"business_discovery.username({target.handle}){{followers_count,{media}}}"

    found = graph(client, ig(sb), access_token=token, fields=fields).json()[
        "business_discovery"
    ]
    unknown = graph(
        client,
        ig(sb),
        access_token=token,
        fields="business_discovery.username(nobody){id}",
    )

    likes = [m.get("like_count") for m in found["media"]["data"]]
    assert found["followers_count"] == sb.world.followers(target, sb.clock.now())
    assert likes[1] is None and all(v is not None for v in likes[2:])
    assert unknown.json()["error"]["code"] == 110


def test_it_sends_business_usage_headers_only_once_usage_shows(sb, client, token):
    import httpx

    from platforms.sandbox import Sandbox

    busy = Sandbox(seed=42, config={"limits": {"graph": {"buc_calls": 10}}})
    busy_client = httpx.Client(
        transport=busy.transport(), base_url="http://sandbox.test"
    )
    busy_token = busy.issue_tokens("instagram", 0)["access_token"]

    quiet = graph(client, ig(sb), access_token=token, fields="id")
    used = graph(busy_client, ig(busy), access_token=busy_token, fields="id")

    usage = json.loads(used.headers["x-business-use-case-usage"])
    assert "x-business-use-case-usage" not in quiet.headers
    assert "x-app-usage" in quiet.headers
    assert usage[ig(busy)][0]["call_count"] == 10
