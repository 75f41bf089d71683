"""YouTube Data API v3 and Analytics API v2 behaviour."""

from __future__ import annotations

import pytest

from platforms.sandbox.core import world as w

YT = "https://www.googleapis.com/auth/"


@pytest.fixture
def headers(sb):
    scopes = [YT + "youtube.readonly", YT + "yt-analytics.readonly"]
    token = sb.issue_tokens("youtube", "youtube-0", scopes)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def uploads(sb, index=0):
    return "UU" + sb.world.accounts("youtube")[index].external_id[2:]


def all_playlist_ids(client, headers, playlist):
    ids, token = [], None
    while True:
        params = {"part": "contentDetails", "playlistId": playlist, "maxResults": 50}
        body = client.get(
            "/google-apis/youtube/v3/playlistItems",
            params=params | ({"pageToken": token} if token else {}),
            headers=headers,
        ).json()
        ids.extend(i["contentDetails"]["videoId"] for i in body["items"])
        token = body.get("nextPageToken")
        if not token:
            return ids


def videos(client, headers, ids, **params):
    return client.get(
        "/google-apis/youtube/v3/videos",
        params={"part": "statistics", "id": ",".join(ids), **params},
        headers=headers,
    )


def test_it_finds_the_uploads_playlist_of_my_channel(sb, client, headers):
    body = client.get(
        "/google-apis/youtube/v3/channels",
        params={"part": "contentDetails,statistics", "mine": "true"},
        headers=headers,
    ).json()

    channel = body["items"][0]
    assert channel["contentDetails"]["relatedPlaylists"]["uploads"] == uploads(sb)
    assert int(channel["statistics"]["viewCount"]) > 2**31


def channel_statistics(client, headers, channel_id):
    return client.get(
        "/google-apis/youtube/v3/channels",
        params={"part": "statistics", "id": channel_id},
        headers=headers,
    ).json()["items"][0]["statistics"]


def public_uploads(client, headers, playlist):
    """viewCount of every video videos.list returns for the uploads playlist."""
    ids = all_playlist_ids(client, headers, playlist)
    counts = {}
    for start in range(0, len(ids), 50):
        for item in videos(client, headers, ids[start : start + 50]).json()["items"]:
            counts[item["id"]] = int(item["statistics"]["viewCount"])
    return ids, counts


def world_case(case):
    """A sandbox for one channel-totals case, and the channel indexes to check."""
    from platforms.sandbox import Sandbox

    from .conftest import FROZEN_AT

    config = {"clock": {"frozen_at": FROZEN_AT}}
    if case == "few items":  # no video above 2^31 in this world
        config["world"] = {"items_per_account": 6}
    sb = Sandbox(seed=42, config=config)
    if case == "before the private upload":
        first = sb.world.accounts("youtube")[0]
        sb.clock.set(sb.world.posted_at(first, w.PRIVATE) - 60)
    return sb


@pytest.mark.parametrize("case", ["default", "few items", "before the private upload"])
@pytest.mark.parametrize("index", [0, 1, 2])
def test_channel_totals_add_up_the_public_uploads(request, case, index):
    import httpx

    sb = world_case(case)
    client = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
    request.addfinalizer(client.close)
    channel = sb.world.accounts("youtube")[index].external_id
    totals = []
    for _ in range(2):  # now, and again once the counters have grown for a day
        token = sb.issue_tokens("youtube", 0, [YT + "youtube.readonly"])
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        stats = channel_statistics(client, headers, channel)
        ids, counts = public_uploads(client, headers, uploads(sb, index))
        hidden = [
            vid
            for vid in ids
            if (item := sb.world.item_by_external("youtube", vid)).deleted
            or item.private
        ]

        assert int(stats["viewCount"]) == sum(counts.values())
        assert int(stats["videoCount"]) == len(counts) == len(ids) - len(hidden)
        totals.append(int(stats["viewCount"]))
        sb.clock.advance(86400)
    assert totals[1] > totals[0]


def test_the_biggest_channel_passes_two_to_the_31_from_its_videos(sb, client, headers):
    channel = sb.world.accounts("youtube")[0].external_id

    stats = channel_statistics(client, headers, channel)
    _, counts = public_uploads(client, headers, uploads(sb))

    assert max(counts.values()) > 2**31  # one video is above 2^31 on its own
    assert int(stats["viewCount"]) > 2**31


def test_it_hides_the_subscriber_count_when_the_channel_does(sb, client, headers):
    hidden = sb.world.accounts("youtube")[1].external_id

    stats = client.get(
        "/google-apis/youtube/v3/channels",
        params={"part": "statistics", "id": hidden},
        headers=headers,
    ).json()["items"][0]["statistics"]

    assert stats["hiddenSubscriberCount"] is True
    assert "subscriberCount" not in stats


def test_it_pages_the_uploads_playlist(sb, client, headers):
    ids = all_playlist_ids(client, headers, uploads(sb))

    assert len(ids) == len(set(ids)) == 120


def test_it_rejects_bad_page_tokens_and_page_sizes(sb, client, headers):
    bad_token = client.get(
        "/google-apis/youtube/v3/playlistItems",
        params={"part": "id", "playlistId": uploads(sb), "pageToken": "zzz"},
        headers=headers,
    )
    too_big = client.get(
        "/google-apis/youtube/v3/playlistItems",
        params={"part": "id", "playlistId": uploads(sb), "maxResults": 51},
        headers=headers,
    )

    assert bad_token.json()["error"]["errors"][0]["reason"] == "invalidPageToken"
    assert too_big.status_code == 400


def test_it_omits_deleted_and_private_videos_and_shuffles_the_rest(sb, client, headers):
    ids = all_playlist_ids(client, headers, uploads(sb))[:50]

    items = videos(client, headers, ids).json()["items"]
    returned = [i["id"] for i in items]
    deleted = sb.world.item(sb.world.accounts("youtube")[0], w.DELETED).external_id

    assert len(returned) == 48
    assert deleted not in returned
    assert returned != [i for i in ids if i in returned]
    assert all(isinstance(i["statistics"]["viewCount"], str) for i in items)


def test_it_refuses_more_than_fifty_ids(client, headers):
    assert videos(client, headers, ["a"] * 51).status_code == 400


def test_it_leaves_out_hidden_likes_and_disabled_comments(sb, client, headers):
    account = sb.world.accounts("youtube")[0]
    hidden = sb.world.item(account, w.HIDDEN_LIKES).external_id
    closed = sb.world.item(account, w.COMMENTS_OFF).external_id

    items = {
        i["id"]: i["statistics"]
        for i in videos(client, headers, [hidden, closed]).json()["items"]
    }
    threads = client.get(
        "/google-apis/youtube/v3/commentThreads",
        params={"part": "snippet", "videoId": closed},
        headers=headers,
    )

    assert "likeCount" not in items[hidden] and "commentCount" in items[hidden]
    assert "commentCount" not in items[closed] and "likeCount" in items[closed]
    assert threads.status_code == 403
    assert threads.json()["error"]["errors"][0]["reason"] == "commentsDisabled"


def test_it_returns_partial_responses_and_honours_etags(sb, client, headers):
    ids = all_playlist_ids(client, headers, uploads(sb))[5:8]

    first = videos(client, headers, ids, fields="items(id,statistics(viewCount))")
    same = videos(client, headers, ids, fields="items(id,statistics(viewCount))")
    cached = client.get(
        "/google-apis/youtube/v3/videos",
        params={
            "part": "statistics",
            "id": ",".join(ids),
            "fields": "items(id,statistics(viewCount))",
        },
        headers={**headers, "If-None-Match": first.headers["etag"]},
    )
    sb.clock.advance(600)
    changed = client.get(
        "/google-apis/youtube/v3/videos",
        params={
            "part": "statistics",
            "id": ",".join(ids),
            "fields": "items(id,statistics(viewCount))",
        },
        headers={**headers, "If-None-Match": first.headers["etag"]},
    )

    assert first.json() == same.json()
    assert set(first.json()) == {"items"}
    assert all(set(i) == {"id", "statistics"} for i in first.json()["items"])
    assert all(set(i["statistics"]) == {"viewCount"} for i in first.json()["items"])
    assert cached.status_code == 304
    assert changed.status_code == 200


def report(client, headers, **params):
    query = {"ids": "channel==MINE", "startDate": "2026-05-01", "endDate": "2026-05-31"}
    return client.get(
        "/youtube-analytics/v2/reports", params=query | params, headers=headers
    )


def test_it_reports_daily_rows_with_some_integers_as_floats(client, headers):
    body = report(
        client, headers, dimensions="day", metrics="views,likes,comments,shares"
    ).json()

    values = [v for row in body["rows"] for v in row[1:]]
    assert [c["name"] for c in body["columnHeaders"]] == [
        "day",
        "views",
        "likes",
        "comments",
        "shares",
    ]
    assert any(isinstance(v, float) and v.is_integer() for v in values)
    assert all(float(v).is_integer() for v in values)


@pytest.mark.parametrize(
    ("dimensions", "metrics", "expected_rows"),
    [
        ("month", "views,estimatedMinutesWatched", 1),
        ("country", "views", 10),
        ("ageGroup,gender", "viewerPercentage", 21),
        ("insightTrafficSourceType", "views", 7),
        ("", "views,averageViewDuration,averageViewPercentage", 1),
    ],
)
def test_it_reports_each_dimension(client, headers, dimensions, metrics, expected_rows):
    body = report(client, headers, dimensions=dimensions, metrics=metrics).json()

    assert len(body["rows"]) == expected_rows
    if metrics == "viewerPercentage":
        assert abs(sum(r[-1] for r in body["rows"]) - 100) < 1


def test_it_reports_top_videos_and_retention(sb, client, headers):
    top = report(
        client,
        headers,
        dimensions="video",
        metrics="views",
        sort="-views",
        maxResults=5,
    ).json()
    video = top["rows"][0][0]
    retention = report(
        client,
        headers,
        dimensions="elapsedVideoTimeRatio",
        metrics="audienceWatchRatio,relativeRetentionPerformance",
        filters=f"video=={video}",
    ).json()

    views = [r[1] for r in top["rows"]]
    assert views == sorted(views, reverse=True) and len(views) == 5
    assert len(retention["rows"]) == 100
    assert retention["rows"][-1][0] == 1.0


def test_it_has_no_rows_for_a_brand_new_video(sb, client, headers):
    newest = sb.world.item(sb.world.accounts("youtube")[0], w.NEWEST).external_id

    body = report(
        client,
        headers,
        dimensions="day",
        metrics="views",
        filters=f"video=={newest}",
        startDate="2026-06-01",
        endDate="2026-06-15",
    ).json()

    assert "rows" not in body
    assert body["columnHeaders"][0]["name"] == "day"


def test_it_refuses_unknown_metrics_and_revenue_without_the_monetary_scope(
    client, headers
):
    unknown = report(client, headers, metrics="views,sparkles")
    revenue = report(client, headers, metrics="estimatedRevenue")

    assert unknown.status_code == 400
    assert "sparkles" in unknown.json()["error"]["message"]
    assert revenue.status_code == 403
    assert revenue.json()["error"]["errors"][0]["reason"] == "forbidden"


def matches(data_type, value):
    """Whether one cell fits its column's dataType, as the real API sends them."""
    if isinstance(value, bool):
        return False
    if data_type == "STRING":
        return isinstance(value, str)
    if data_type == "FLOAT":
        # Any JSON number: the recorded reply sends a FLOAT column's zero as 0.
        return isinstance(value, int | float)
    if data_type == "INTEGER":
        # The documented quirk: INTEGER columns sometimes arrive as 12.0.
        return isinstance(value, int) or (
            isinstance(value, float) and value.is_integer()
        )
    return False


# The metrics each dimension accepts; every other metric goes with the rest.
SPECIAL_METRICS = {
    "viewerPercentage",
    "audienceWatchRatio",
    "relativeRetentionPerformance",
}
RETENTION = ["audienceWatchRatio", "relativeRetentionPerformance"]
TYPED_CASES = {
    "": None,
    "day": None,
    "month": None,
    "video": None,
    "country": None,
    "insightTrafficSourceType": None,
    "ageGroup": ["viewerPercentage"],
    "gender": ["viewerPercentage"],
    "ageGroup,gender": ["viewerPercentage"],
    "elapsedVideoTimeRatio": RETENTION,
}


def test_the_typed_cases_cover_every_supported_dimension():
    from platforms.sandbox.youtube.report import DIMENSIONS

    covered = {d for case in TYPED_CASES for d in case.split(",") if d}
    assert covered == set(DIMENSIONS)


@pytest.mark.parametrize("dimensions", list(TYPED_CASES))
def test_every_cell_matches_its_column_data_type(sb, client, dimensions):
    from platforms.sandbox.youtube.report import FLOAT, INTEGER

    scopes = [
        YT + "youtube.readonly",
        YT + "yt-analytics.readonly",
        YT + "yt-analytics-monetary.readonly",
    ]
    token = sb.issue_tokens("youtube", "youtube-0", scopes)["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    metrics = TYPED_CASES[dimensions] or sorted((INTEGER | FLOAT) - SPECIAL_METRICS)
    params = {"dimensions": dimensions, "metrics": ",".join(metrics)}
    if dimensions == "elapsedVideoTimeRatio":
        top = report(
            client, auth, dimensions="video", metrics="views", sort="-views"
        ).json()
        params["filters"] = f"video=={top['rows'][0][0]}"

    response = report(client, auth, **params)

    assert response.status_code == 200, response.text
    body = response.json()
    types = [h["dataType"] for h in body["columnHeaders"]]
    assert [h["name"] for h in body["columnHeaders"]] == [
        d for d in dimensions.split(",") if d
    ] + metrics
    assert set(types) <= {"STRING", "INTEGER", "FLOAT"}
    assert body["rows"]
    bad = [
        (header["name"], header["dataType"], value)
        for row in body["rows"]
        for header, value in zip(body["columnHeaders"], row, strict=True)
        if not matches(header["dataType"], value)
    ]
    assert bad == []


def test_the_data_type_rule_accepts_the_recorded_reply():
    import json
    from pathlib import Path

    path = (
        Path(__file__).parent
        / "fixtures/recorded/youtube/analytics_v2_reports_query_day_many_metrics.json"
    )
    body = json.loads(path.read_text())

    cells = [
        (header["dataType"], value)
        for row in body["rows"]
        for header, value in zip(body["columnHeaders"], row, strict=True)
    ]
    assert cells and all(matches(kind, value) for kind, value in cells)
    assert not matches("STRING", 0.5) and not matches("INTEGER", 1.5)
