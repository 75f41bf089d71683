"""Fault injection: every knob, per platform and endpoint, deterministic."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from platforms.sandbox import Sandbox


@pytest.fixture
def yt(sb):
    return {"key": "sandbox-youtube-api-key", "part": "id", "id": "x"}


def videos(client, params):
    return client.get("/google-apis/youtube/v3/videos", params=params)


@pytest.mark.parametrize(
    ("platform", "endpoint", "status", "check"),
    [
        ("youtube", "youtube.videos", 503, lambda b: b["error"]["code"] == 503),
        (
            "tiktok",
            "tiktok.user.info",
            500,
            lambda b: b["error"]["code"] == "internal_error",
        ),
        ("instagram", "graph.me", 500, lambda b: b["error"]["is_transient"] is True),
    ],
)
def test_it_answers_with_the_platform_5xx_body(
    sb, client, platform, endpoint, status, check
):
    sb.faults.add("status_500", platform=platform, endpoint=endpoint, status=status)
    requests = {
        "youtube": lambda: videos(
            client, {"key": "sandbox-youtube-api-key", "part": "id", "id": "x"}
        ),
        "tiktok": lambda: client.get(
            "/tiktok-open/v2/user/info/", params={"fields": "open_id"}
        ),
        "instagram": lambda: client.get("/facebook-graph/v25.0/me"),
    }

    reply = requests[platform]()

    assert reply.status_code == status
    assert check(reply.json())


def test_it_fires_faults_at_the_configured_rate_deterministically(yt):
    def statuses(seed):
        sb = Sandbox(seed=seed)
        sb.faults.add(
            kind="status_500", platform="youtube", endpoint="youtube.videos", rate=0.5
        )
        client = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
        return [videos(client, yt).status_code for _ in range(40)]

    first, again, other = statuses(11), statuses(11), statuses(12)

    assert first == again
    assert first != other
    assert 10 <= first.count(500) <= 30


def test_it_only_touches_the_matching_platform_and_endpoint(sb, client, yt):
    sb.faults.add("status_500", platform="youtube", endpoint="youtube.channels")

    assert videos(client, yt).status_code == 200


def test_it_stops_after_count_firings(sb, client, yt):
    sb.faults.add("status_500", endpoint="youtube.*", count=2)

    assert [videos(client, yt).status_code for _ in range(3)] == [500, 500, 200]


def test_it_adds_latency(sb, client, yt):
    sb.faults.add("latency", platform="youtube", ms=60)

    started = time.perf_counter()
    reply = videos(client, yt)

    assert reply.status_code == 200
    assert time.perf_counter() - started >= 0.06


def test_it_draws_latency_from_a_distribution():
    from platforms.sandbox.core.faults import FaultInjector

    faults = FaultInjector(seed=5)
    faults.add("latency", p50_ms=10, p99_ms=40)

    delays = sorted(
        faults.decide("youtube", "youtube.videos").latency for _ in range(200)
    )

    assert 0.007 < delays[100] < 0.014
    assert delays[-1] < 0.2


def test_it_times_out_in_process(sb, client, yt):
    sb.faults.add("timeout", platform="youtube")

    with pytest.raises(httpx.ReadTimeout):
        videos(client, yt)


def test_it_drops_the_connection_in_process(sb, client, yt):
    sb.faults.add("drop", platform="youtube")

    with pytest.raises(httpx.RemoteProtocolError):
        videos(client, yt)
    assert sb.requests.recent()[-1]["fault"] == "drop"


def test_it_drops_and_times_out_real_connections_over_loopback(serve, yt):
    # The sandbox holds a timed-out connection for a minute; the client gives
    # up reading after 2 s. Everything else gets a generous timeout, so a
    # loaded machine cannot turn a slow answer into a false "timeout".
    sb = Sandbox(seed=3, config={"timeout_seconds": 60})
    base = serve(sb)
    patient = httpx.Timeout(30.0)
    impatient = httpx.Timeout(30.0, read=2.0)
    with httpx.Client(base_url=base, timeout=patient) as client:
        ok = videos(client, yt)
        drop = sb.faults.add("drop", platform="youtube", count=1)
        with pytest.raises(httpx.RemoteProtocolError):
            videos(client, yt)
        hold = sb.faults.add("timeout", platform="youtube", count=1)
        with pytest.raises(httpx.ReadTimeout):
            client.get("/google-apis/youtube/v3/videos", params=yt, timeout=impatient)
        after = videos(client, yt)

    assert ok.status_code == 200
    assert after.status_code == 200  # each rule fired once, then let requests by
    assert (drop.fired, hold.fired) == (1, 1)


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
def test_it_spoils_json_bodies(sb, client, yt, kind):
    sb.faults.add(kind, platform="youtube")

    reply = videos(client, yt)

    assert reply.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        reply.json()


def test_it_sends_bursts_of_429_then_recovers(sb, client):
    token = sb.issue_tokens("tiktok", 0)["access_token"]
    sb.faults.add("burst_429", platform="tiktok", burst=3, count=1)

    def info():
        return client.get(
            "/tiktok-open/v2/user/info/",
            params={"fields": "open_id"},
            headers={"Authorization": f"Bearer {token}"},
        )

    statuses = [info().status_code for _ in range(5)]

    assert statuses == [429, 429, 429, 200, 200]
    assert sb.requests.throttled_count() == 3


def test_it_sends_google_429_with_retry_after(sb, client, yt):
    sb.faults.add("burst_429", platform="youtube", burst=1, retry_after=7)

    reply = videos(client, yt)

    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "7"
    assert reply.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize(
    ("platform", "path", "check"),
    [
        (
            "tiktok",
            "/tiktok-open/v2/user/info/",
            lambda b: b["error"]["code"] == "rate_limit_exceeded",
        ),
        ("instagram", "/facebook-graph/v25.0/me", lambda b: b["error"]["code"] == 4),
        (
            "tiktok",
            "/tiktok-business/open_api/v1.3/business/get/",
            lambda b: b["code"] == 40100,
        ),
    ],
)
def test_it_hides_throttles_inside_200_replies(sb, client, platform, path, check):
    sb.faults.add("throttle_in_200", platform=platform)

    reply = client.get(path)

    assert reply.status_code == 200
    assert check(reply.json())


def test_it_revokes_the_token_of_a_request(sb, client):
    tokens = sb.issue_tokens("tiktok", 0)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    sb.faults.add(
        "revoke_token", platform="tiktok", endpoint="tiktok.user.info", count=1
    )

    first = client.get(
        "/tiktok-open/v2/user/info/", params={"fields": "open_id"}, headers=headers
    )
    refresh = client.post(
        "/tiktok-open/v2/oauth/token/",
        data={
            "client_key": "sandbox-tiktok-client-key",
            "client_secret": "sandbox-tiktok-client-secret",
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        },
    )

    assert first.status_code == 401
    assert refresh.json()["error"] == "invalid_grant"


def test_it_manages_faults_over_the_control_endpoint(sb, client, yt):
    added = client.post(
        "/_sandbox/faults",
        json={
            "platform": "youtube",
            "endpoint": "youtube.videos",
            "kind": "status_502",
        },
    ).json()

    failing = videos(client, yt).status_code
    client.delete("/_sandbox/faults")

    assert added["rules"][0]["status"] == 502
    assert failing == 502
    assert videos(client, yt).status_code == 200
    assert client.post("/_sandbox/faults", json={"kind": "nonsense"}).status_code == 400


# --- paging faults --------------------------------------------------------

LISTING_ENDPOINTS = {
    "tiktok": "tiktok.video.list",
    "youtube": "youtube.playlistItems",
    "instagram": "graph.ig_media",
}


class Listing:
    """One page at a time of a platform's listing, as a client follows it."""

    def __init__(self, sb: Sandbox, client: httpx.Client, platform: str, size=10):
        self.client, self.platform, self.size = client, platform, size
        account = sb.world.accounts(platform)[0]
        self.token = sb.issue_tokens(platform, account.id)["access_token"]
        self.account = account

    def page(self, cursor=None) -> dict:
        """{"ids", "next", "more"} of the page at `cursor` (None: the first)."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.platform == "tiktok":
            body = {"max_count": self.size} | ({"cursor": cursor} if cursor else {})
            data = self.client.post(
                "/tiktok-open/v2/video/list/",
                params={"fields": "id"},
                json=body,
                headers=headers,
            ).json()["data"]
            ids = [v["id"] for v in data["videos"]]
            return {"ids": ids, "next": data["cursor"], "more": data["has_more"]}
        if self.platform == "youtube":
            params = {
                "part": "contentDetails",
                "playlistId": "UU" + self.account.external_id[2:],
                "maxResults": self.size,
            } | ({"pageToken": cursor} if cursor else {})
            body = self.client.get(
                "/google-apis/youtube/v3/playlistItems", params=params, headers=headers
            ).json()
            ids = [i["contentDetails"]["videoId"] for i in body["items"]]
            token = body.get("nextPageToken")
            return {"ids": ids, "next": token, "more": token is not None}
        params = {"fields": "id", "limit": self.size, "access_token": self.token}
        body = self.client.get(
            f"/facebook-graph/v25.0/{self.account.external_id}/media",
            params=params | ({"after": cursor} if cursor else {}),
        ).json()
        paging = body.get("paging", {})
        return {
            "ids": [m["id"] for m in body["data"]],
            "next": paging.get("cursors", {}).get("after"),
            "more": "next" in paging,
        }

    def walk(self, pages: int) -> list[dict]:
        """Up to `pages` pages, each following the cursor the last one gave."""
        found, cursor = [], None
        for _ in range(pages):
            page = self.page(cursor) | {"sent": cursor}
            found.append(page)
            if not page["more"]:
                break
            cursor = page["next"]
        return found


@pytest.mark.parametrize("platform", ["tiktok", "youtube", "instagram"])
def test_it_repeats_the_cursor_it_was_given(sb, client, platform):
    listing = Listing(sb, client, platform)
    clean = listing.walk(3)
    added = client.post(
        "/_sandbox/faults",
        json={
            "kind": "repeat_cursor",
            "platform": platform,
            "endpoint": LISTING_ENDPOINTS[platform],
        },
    )

    first, second, third = listing.walk(3)

    assert added.status_code == 200
    assert added.json()["rules"][0]["kind"] == "repeat_cursor"
    # The first page has no cursor to repeat: it is the real one.
    assert first == clean[0]
    # Later pages carry their real items but hand back the cursor they got.
    assert second["ids"] == clean[1]["ids"]
    assert second["next"] == second["sent"] == first["next"]
    assert second["more"] is True
    assert third["sent"] == third["next"] == first["next"]
    assert third["ids"] == clean[1]["ids"]
    assert sb.faults.rules()[0].fired == 2
    logged = [r["fault"] for r in sb.requests.recent(platform=platform)]
    assert logged[-3:] == [None, "repeat_cursor", "repeat_cursor"]


@pytest.mark.parametrize("platform", ["tiktok", "youtube", "instagram"])
def test_it_sends_an_empty_page_that_still_promises_more(sb, client, platform):
    listing = Listing(sb, client, platform)
    clean = listing.walk(3)
    client.post(
        "/_sandbox/faults",
        json={
            "kind": "empty_page",
            "platform": platform,
            "endpoint": LISTING_ENDPOINTS[platform],
            "count": 1,
        },
    )

    first, empty, after = listing.walk(3)

    assert first == clean[0]
    assert empty["ids"] == [] and empty["more"] is True
    # Its cursor moves on as the full page's would (its items were skipped).
    assert empty["next"] == clean[1]["next"]
    assert after == clean[2]
    assert sb.faults.rules()[0].fired == 1


def test_paging_faults_leave_other_listings_and_first_pages_alone(sb, client):
    sb.faults.add("empty_page", platform="youtube")
    sb.faults.add("repeat_cursor", platform="tiktok", endpoint="tiktok.user.info")
    tiktok = Listing(sb, client, "tiktok").walk(4)
    youtube = Listing(sb, client, "youtube").walk(1)

    assert all(page["ids"] for page in tiktok)
    assert len({page["next"] for page in tiktok}) == len(tiktok)
    assert youtube[0]["ids"]
    assert [r.seen for r in sb.faults.rules()] == [0, 0]


def test_paging_faults_fire_at_their_rate_deterministically():
    def empty_pages(seed):
        sandbox = Sandbox(seed=seed, config={"clock": {"frozen_at": "2026-06-15"}})
        sandbox.faults.add("empty_page", platform="youtube", rate=0.5)
        http = httpx.Client(
            transport=sandbox.transport(), base_url="http://sandbox.test"
        )
        pages = Listing(sandbox, http, "youtube", size=4).walk(40)[1:]
        return [not page["ids"] for page in pages]

    first, again, other = empty_pages(11), empty_pages(11), empty_pages(12)

    # 120 items, 4 a page; an empty last page adds one to follow.
    assert len(first) in (29, 30)
    assert first == again
    assert first != other
    assert 6 <= sum(first) <= 23
