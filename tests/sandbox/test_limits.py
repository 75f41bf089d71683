"""Each documented limit, with the platform's own error body, status and headers."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from platforms.sandbox import Sandbox


def make(config: dict, frozen_at: str = "2026-06-15T12:00:00+00:00") -> tuple:
    config = {**config, "clock": {"frozen_at": frozen_at}}
    sb = Sandbox(seed=7, config=config)
    return sb, httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")


# --- TikTok ---------------------------------------------------------------------


def test_it_limits_tiktok_per_endpoint_in_a_sliding_window():
    sb, client = make({"limits": {"tiktok": {"per_endpoint": 3}}})
    headers = {
        "Authorization": f"Bearer {sb.issue_tokens('tiktok', 0)['access_token']}"
    }

    def info():
        return client.get(
            "/tiktok-open/v2/user/info/", params={"fields": "open_id"}, headers=headers
        )

    first = [info().status_code for _ in range(3)]
    sb.clock.advance(30)
    over = info()
    other_endpoint = client.post(
        "/tiktok-open/v2/video/list/", params={"fields": "id"}, json={}, headers=headers
    )
    sb.clock.advance(30.5)  # the first three leave the window

    assert first == [200, 200, 200]
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limit_exceeded"
    assert other_endpoint.status_code == 200
    assert info().status_code == 200
    assert sb.requests.throttled_count() == 1


@pytest.mark.parametrize(("per", "other_user_status"), [("app", 429), ("token", 200)])
def test_it_counts_the_tiktok_window_per_app_or_per_token(per, other_user_status):
    sb, client = make({"limits": {"tiktok": {"per_endpoint": 1, "per": per}}})

    def info(account):
        token = sb.issue_tokens("tiktok", account)["access_token"]
        return client.get(
            "/tiktok-open/v2/user/info/",
            params={"fields": "open_id"},
            headers={"Authorization": f"Bearer {token}"},
        )

    assert info(0).status_code == 200
    assert info(1).status_code == other_user_status


def test_it_limits_the_business_api_with_code_40100_in_a_200():
    sb, client = make({"limits": {"tiktok_business": {"per_endpoint": 2}}})
    tokens = sb.issue_tokens("tiktok", 0)

    def get():
        return client.get(
            "/tiktok-business/open_api/v1.3/business/get/",
            params={"business_id": tokens["open_id"], "fields": '["followers_count"]'},
            headers={"Access-Token": tokens["access_token"]},
        )

    codes = [get().json()["code"] for _ in range(2)]
    over = get()

    assert codes == [0, 0]
    assert over.status_code == 200
    assert over.json()["code"] == 40100


# --- YouTube quota ------------------------------------------------------------------


def videos(client, key="sandbox-youtube-api-key"):
    return client.get(
        "/google-apis/youtube/v3/videos", params={"part": "id", "id": "x", "key": key}
    )


def test_it_refuses_calls_once_the_daily_quota_is_spent():
    sb, client = make({"limits": {"youtube": {"daily_quota": 3}}})
    token = sb.issue_tokens("youtube", 0)["access_token"]

    statuses = [videos(client).status_code for _ in range(3)]
    over = videos(client)
    # The OAuth client belongs to the same project as the key.
    with_token = client.get(
        "/google-apis/youtube/v3/videos",
        params={"part": "id", "id": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert statuses == [200, 200, 200]
    assert over.status_code == 403
    error = over.json()["error"]
    assert error["errors"][0]["reason"] == "quotaExceeded"
    assert error["errors"][0]["domain"] == "youtube.quota"
    assert with_token.status_code == 403
    assert "retry-after" not in over.headers


def test_it_charges_invalid_requests_too():
    sb, client = make({"limits": {"youtube": {"daily_quota": 2}}})

    missing_part = client.get(
        "/google-apis/youtube/v3/videos",
        params={"id": "x", "key": "sandbox-youtube-api-key"},
    )

    assert missing_part.status_code == 400
    assert sb.quota.spent("youtube.data", "sandbox-project", sb.clock.now()) == 1


def test_it_uses_configured_costs_per_endpoint():
    sb, client = make({"limits": {"youtube": {"costs": {"youtube.videos": 5}}}})

    videos(client)

    assert sb.quota.spent("youtube.data", "sandbox-project", sb.clock.now()) == 5


@pytest.mark.parametrize(
    ("last_minute", "midnight", "next_midnight_hours"),
    [
        # An ordinary day (PDT): midnight in Los Angeles is 07:00 UTC.
        ("2026-06-15T06:59:00+00:00", "2026-06-15T07:00:00+00:00", 24),
        # Spring forward: 2026-03-08 has 23 hours in Los Angeles.
        ("2026-03-08T07:59:00+00:00", "2026-03-08T08:00:00+00:00", 23),
        # Fall back: 2026-11-01 has 25 hours in Los Angeles.
        ("2026-11-01T06:59:00+00:00", "2026-11-01T07:00:00+00:00", 25),
    ],
)
def test_it_resets_the_quota_at_midnight_in_los_angeles(
    last_minute, midnight, next_midnight_hours
):
    sb, client = make(
        {"limits": {"youtube": {"daily_quota": 1}}}, frozen_at=last_minute
    )
    videos(client)

    before_midnight = videos(client).status_code
    sb.clock.set(midnight)
    after_midnight = [videos(client).status_code for _ in range(2)]
    sb.clock.advance(next_midnight_hours * 3600 - 1)
    just_before_next = videos(client).status_code
    sb.clock.advance(1)
    next_day = videos(client).status_code

    assert before_midnight == 403
    assert after_midnight == [200, 403]
    assert just_before_next == 403
    assert next_day == 200


def test_it_sends_rate_limit_exceeded_for_short_bursts():
    sb, client = make({"limits": {"youtube": {"rate_per_window": 2}}})

    statuses = [videos(client).status_code for _ in range(2)]
    over = videos(client)
    sb.clock.advance(100)

    assert statuses == [200, 200]
    assert over.status_code == 403
    assert over.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert videos(client).status_code == 200


def test_it_refuses_a_bad_key_and_a_missing_credential():
    _, client = make({})

    bad = videos(client, key="nope")
    missing = client.get(
        "/google-apis/youtube/v3/videos", params={"part": "id", "id": "x"}
    )

    assert bad.status_code == 400
    assert bad.json()["error"]["errors"][0]["reason"] == "keyInvalid"
    assert missing.status_code == 403
    assert missing.json()["error"]["errors"][0]["reason"] == "forbidden"


def test_it_answers_401_for_an_expired_google_token():
    sb, client = make({})
    token = sb.issue_tokens("youtube", 0)["access_token"]
    sb.clock.advance(3600)

    reply = client.get(
        "/google-apis/youtube/v3/channels",
        params={"part": "id", "mine": "true"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert reply.status_code == 401
    assert reply.json()["error"]["status"] == "UNAUTHENTICATED"


# --- Graph ------------------------------------------------------------------------


def graph(client, token, path="me", **params):
    return client.get(
        f"/facebook-graph/v25.0/{path}", params={"access_token": token, **params}
    )


def test_it_reports_app_usage_and_throttles_with_code_4():
    sb, client = make({"limits": {"graph": {"app_calls_per_user": 4}}})
    token = sb.issue_tokens("instagram", 0)["access_token"]

    usages = [json.loads(graph(client, token).headers["x-app-usage"]) for _ in range(4)]
    over = graph(client, token)
    sb.clock.advance(3600)

    assert [u["call_count"] for u in usages] == [25, 50, 75, 100]
    assert over.status_code == 400
    assert over.json()["error"]["code"] == 4
    assert json.loads(over.headers["x-app-usage"])["call_count"] == 100
    assert graph(client, token).status_code == 200


def app_usage(reply) -> int:
    return json.loads(reply.headers["x-app-usage"])["call_count"]


def test_the_app_limit_counts_only_accounts_holding_a_live_token():
    # 10 calls per user and hour; a token lives for an hour.
    sb, client = make(
        {
            "limits": {"graph": {"app_calls_per_user": 10}},
            "tokens": {"facebook": {"long_ttl": 3600}},
        }
    )
    early = sb.issue_tokens("instagram", 0)["access_token"]
    sb.clock.advance(1800)
    token = sb.issue_tokens("instagram", 1)["access_token"]
    again = sb.issue_tokens("instagram", 1)["access_token"]
    doomed = sb.issue_tokens("instagram", 2)["access_token"]

    three_users = app_usage(graph(client, token))  # 1 call of 30
    sb.tokens.revoke_family(sb.tokens.get(doomed).family)
    two_users = app_usage(graph(client, token))  # 2 calls of 20
    sb.tokens.revoke_family(sb.tokens.get(again).family)
    still_two = app_usage(graph(client, early))  # 3 calls of 20
    sb.clock.advance(1800)  # `early` expires; account 0 holds nothing live
    one_user = app_usage(graph(client, token))  # 4 calls of 10

    assert (three_users, two_users, still_two, one_user) == (3, 10, 15, 40)
    assert sb.tokens.live_accounts("instagram", "sandbox-facebook-app-id", 0) == 2
    assert sb.tokens.live_accounts("tiktok", "sandbox-facebook-app-id", 0) == 0


@pytest.fixture
def eager_thread_switches():
    """Switch threads very often, so an unlocked read meets a concurrent write."""
    import sys

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_graph_calls_and_token_issues_from_many_threads_never_fail(
    serve, eager_thread_switches
):
    sb = Sandbox(
        seed=7,
        config={
            "limits": {"graph": {"app_calls_per_user": 10**6, "user_calls": 10**6}}
        },
    )
    base = serve(sb)
    # A long-running sandbox has issued many tokens; counting users must not
    # walk them all, nor trip over one being added meanwhile.
    for n in range(20_000):
        sb.issue_tokens("instagram", n % 3)
    token = sb.issue_tokens("instagram", 0)["access_token"]
    statuses: list[int] = []

    def issue(n: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for i in range(60):
                reply = http.post(
                    "/_sandbox/tokens",
                    json={"platform": "instagram", "account": (n + i) % 3},
                )
                statuses.append(reply.status_code)

    def call() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(60):
                statuses.append(graph(http, token).status_code)

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(statuses) == 360
    assert set(statuses) == {200}
    assert sb.tokens.live_accounts("instagram", "sandbox-facebook-app-id", 0) == 3


def test_it_throttles_a_user_with_code_17():
    sb, client = make({"limits": {"graph": {"user_calls": 2}}})
    token = sb.issue_tokens("instagram", 0)["access_token"]

    statuses = [graph(client, token).status_code for _ in range(2)]
    over = graph(client, token)

    assert statuses == [200, 200]
    assert over.json()["error"]["code"] == 17
    assert over.json()["error"]["is_transient"] is True


def test_it_throttles_page_calls_with_code_32():
    sb, client = make({"limits": {"graph": {"page_calls": 1}}})
    token = sb.issue_tokens("instagram", 0)["access_token"]

    first = graph(client, token, "me/accounts")
    over = graph(client, token, "me/accounts")

    assert first.status_code == 200
    assert over.json()["error"]["code"] == 32
    assert graph(client, token, "me").status_code == 200


def test_it_throttles_an_instagram_account_with_code_80002():
    sb, client = make({"limits": {"graph": {"buc_calls": 2}}})
    token = sb.issue_tokens("instagram", 0)["access_token"]
    ig = sb.world.accounts("instagram")[0].external_id

    first = graph(client, token, ig, fields="id")
    graph(client, token, ig, fields="id")
    over = graph(client, token, ig, fields="id")

    usage = json.loads(over.headers["x-business-use-case-usage"])[ig][0]
    assert first.status_code == 200
    assert (
        json.loads(first.headers["x-business-use-case-usage"])[ig][0]["call_count"]
        == 50
    )
    assert over.json()["error"]["code"] == 80002
    assert usage["type"] == "instagram"
    assert usage["estimated_time_to_regain_access"] == 60


def test_it_gives_business_discovery_its_own_bucket_with_code_613():
    sb, client = make({"limits": {"graph": {"discovery_calls": 1}}})
    token = sb.issue_tokens("instagram", 0)["access_token"]
    ig = sb.world.accounts("instagram")[0].external_id
    fields = "business_discovery.username(sandbox_instagram_1){followers_count}"

    first = graph(client, token, ig, fields=fields)
    over = graph(client, token, ig, fields=fields)
    plain = graph(client, token, ig, fields="id")

    assert first.status_code == 200
    assert over.json()["error"]["code"] == 613
    assert plain.status_code == 200
    assert sb.requests.count(endpoint="graph.business_discovery") == 2


def test_it_runs_batches_of_up_to_fifty_and_counts_each_call():
    sb, client = make({})
    token = sb.issue_tokens("instagram", 0)["access_token"]
    call = {"method": "GET", "relative_url": "v25.0/me?fields=id,name"}

    reply = client.post(
        "/facebook-graph/",
        data={"access_token": token, "batch": json.dumps([call] * 3)},
    )
    too_many = client.post(
        "/facebook-graph/v25.0/",
        data={"access_token": token, "batch": json.dumps([call] * 51)},
    )

    parts = reply.json()
    assert [p["code"] for p in parts] == [200, 200, 200]
    assert isinstance(parts[0]["body"], str)
    assert json.loads(parts[0]["body"])["name"].startswith("Sandbox Person")
    assert {"name": "X-App-Usage"}.items() <= parts[0]["headers"][1].items()
    assert too_many.json()["error"]["code"] == 100
    assert sb.requests.count(endpoint="graph.me") == 3
