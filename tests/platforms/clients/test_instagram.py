"""InstagramClient against the sandbox: retired metrics, batches, usage, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from platforms import InstagramClient
from platforms.clients.instagram_insights import FEW_VIEWERS, NOT_BUSINESS
from platforms.exceptions import InstagramAuthError, InstagramRateLimitError
from platforms.models import ConnectedAccount, ErrorLog, RateLimitBucket
from platforms.ratelimit import (
    DatabaseLimiter,
    Rate,
    RedisLimiter,
    configured_rates,
    forget_known_buckets,
)
from platforms.sandbox import Sandbox
from tests.platforms.clients.conftest import FROZEN_AT, credential_of, no_sleep
from tests.platforms.test_ratelimit import FakeClock

pytestmark = pytest.mark.django_db

INSIGHTS = "graph.media.insights"


def test_it_drops_a_retired_metric_records_it_and_asks_again(sb, make_instagram):
    client = make_instagram(0)
    media_id = client.list_media(limit=1)[0]["id"]
    result = client.get_media_insights(
        media_id, metrics=["impressions", "reach", "plays"]
    )
    assert result["metrics"]["reach"] > 0
    for retired in ("impressions", "plays"):
        assert result["metrics"][retired] is None
        assert "retired" in result["unavailable"][retired]
    asked = sb.requests.count(endpoint=INSIGHTS)
    assert asked == 3  # both retired metrics, then the rest
    assert ErrorLog.objects.filter(platform="instagram", code="100").count() == 2
    client.get_media_insights(media_id, metrics=["impressions", "reach"])
    assert sb.requests.count(endpoint=INSIGHTS) == asked + 1  # remembered


def test_it_reports_story_insights_withheld_below_five_viewers(make_instagram):
    client = make_instagram(0)
    results = [client.get_story_insights(s["id"]) for s in client.list_stories()]
    withheld = [r for r in results if r["unavailable"].get("reach") == FEW_VIEWERS]
    shown = [r for r in results if r["metrics"].get("reach")]
    assert withheld and shown
    assert set(withheld[0]["metrics"].values()) == {None}


def test_it_reports_media_posted_before_the_business_conversion(sb, make_instagram):
    result = make_instagram(1).get_media_insights("17947420010000061")
    assert set(result["metrics"].values()) == {None}
    assert result["unavailable"]["reach"] == NOT_BUSINESS
    assert sb.requests.count(endpoint=INSIGHTS) == 1  # permanent: not retried


def test_it_sends_50_media_per_batch_and_matches_each_reply(sb, make_instagram):
    client = make_instagram(0)
    media = [m["id"] for m in client.list_media()]
    assert len(media) == 120
    batched = client.get_media_insights_batch(media)
    assert sb.requests.count(endpoint="graph.batch") == 3
    assert list(batched) == media
    single = client.get_media_insights(media[77])
    assert batched[media[77]]["metrics"] == single["metrics"]


def test_it_stores_graph_usage_and_slows_down_above_80_percent(limiter):
    tight = Sandbox(
        seed=42,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "limits": {"graph": {"app_calls_per_user": 10}},
        },
    )
    reply = tight.issue_tokens("instagram", tight.world.accounts("instagram")[0].id)
    client = InstagramClient(
        client_id="sandbox-facebook-app-id",
        client_secret="sandbox-facebook-app-secret",
        access_token=reply["access_token"],
        transport=tight.transport(),
        limiter=limiter,
        sleep=lambda s: None,
    )
    media_id = client.list_media(limit=1)[0]["id"]  # me/accounts + media
    sent = 2
    with pytest.raises(InstagramRateLimitError) as caught:
        for _ in range(10):
            client.get_media_insights(media_id, metrics=["reach"])
            sent += 1
    assert client.reported_usage_percent >= 80
    assert caught.value.reason == "local_rate_limit"
    assert tight.requests.count() == sent < 10  # paused before Graph throttled
    assert tight.requests.throttled_count() == 0
    media = RateLimitBucket.objects.filter(endpoint_class="media_metrics").get()
    assert media.reported_usage["x-app-usage"]["call_count"] >= 80
    # X-App-Usage counts the whole app: the app-wide bucket is the one paused.
    app = RateLimitBucket.objects.filter(endpoint_class="app_usage").get()
    assert app.blocked_reason.startswith("platform usage")
    assert media.blocked_reason == ""


def test_it_pauses_on_graph_throttling_without_hammering(sb, make_instagram):
    client = make_instagram(0)
    media_id = client.list_media(limit=1)[0]["id"]
    sb.faults.add(kind="burst_429", platform="instagram", endpoint=INSIGHTS, count=1)
    with pytest.raises(InstagramRateLimitError) as caught:
        client.get_media_insights(media_id)
    assert caught.value.code == 4 and caught.value.retry_after >= 60
    assert sb.requests.count(endpoint=INSIGHTS) == 1


def test_it_marks_reconnect_needed_on_code_190_and_others_go_on(
    sb, stored_account, make_instagram
):
    broken, healthy = stored_account("instagram", 0), stored_account("instagram", 1)
    sb.faults.add(
        kind="revoke_token", platform="instagram", endpoint="graph.ig_user", count=1
    )
    with pytest.raises(InstagramAuthError) as caught:
        make_instagram(account=broken).get_user_profile()
    assert caught.value.code == 190 and caught.value.request_id
    broken.refresh_from_db()
    assert broken.status == ConnectedAccount.Status.RECONNECT_NEEDED
    assert make_instagram(account=healthy).get_user_profile()["metrics"]["media_count"]


def test_it_renews_a_long_lived_token_before_it_lapses(
    sb, stored_account, make_instagram
):
    account = stored_account("instagram", 0)
    credential = credential_of(account)
    old = credential.access_token
    credential.access_expires_at = datetime.now(UTC) + timedelta(minutes=2)
    credential.save()
    make_instagram(account=account).get_user_profile()
    renewed = credential_of(account)
    assert renewed.access_token != old
    assert renewed.access_expires_at > datetime.now(UTC) + timedelta(days=50)
    assert sb.requests.count(endpoint="facebook.oauth.access_token") == 1


def test_it_reads_business_discovery_in_its_own_bucket(sb, make_instagram):
    client = make_instagram(0)
    other = sb.world.accounts("instagram")[1].handle
    result = client.get_business_discovery(other)
    assert result["username"] == other and result["metrics"]["followers_count"] > 0
    assert RateLimitBucket.objects.filter(endpoint_class="business_discovery").exists()


def test_it_drops_a_retired_metric_from_a_batch_and_sends_it_again(sb, make_instagram):
    client = make_instagram(0)
    media = [m["id"] for m in client.list_media(limit=3)]
    results = client.get_media_insights_batch(media, metrics=["reach", "impressions"])
    assert sb.requests.count(endpoint="graph.batch") == 2  # refused, then the rest
    for media_id in media:
        assert results[media_id]["metrics"]["reach"] > 0
        assert results[media_id]["metrics"]["impressions"] is None
        assert "retired" in results[media_id]["unavailable"]["impressions"]
    assert ErrorLog.objects.filter(endpoint="graph.batch", code="100").count() == 1


def graph_client(sandbox: Sandbox, index: int, limiter) -> tuple[InstagramClient, str]:
    """A client of the sandbox's one Facebook app for Instagram account `index`."""
    account = sandbox.world.accounts("instagram")[index]
    token = sandbox.issue_tokens("instagram", account.id)["access_token"]
    client = InstagramClient(
        client_id="sandbox-facebook-app-id",
        client_secret="sandbox-facebook-app-secret",
        access_token=token,
        ig_user_id=account.external_id,
        transport=sandbox.transport(),
        limiter=limiter,
        sleep=no_sleep,
    )
    return client, token


def newest_media(sandbox: Sandbox, index: int, count: int = 1) -> list[str]:
    account = sandbox.world.accounts("instagram")[index]
    items = sandbox.world.items(account, sandbox.clock.now())
    return [next(items).external_id for _ in range(count)]


def test_it_pauses_every_account_of_the_app_on_high_app_usage(limiter):
    """X-App-Usage is app-wide: one account's usage slows the others down too."""
    tight = Sandbox(
        seed=42,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "limits": {"graph": {"app_calls_per_user": 10}},
        },
    )
    busy, busy_token = graph_client(tight, 0, limiter)
    quiet, quiet_token = graph_client(tight, 1, limiter)
    media_id = newest_media(tight, 0)[0]
    with pytest.raises(InstagramRateLimitError) as caught:
        for _ in range(30):
            busy.get_media_insights(media_id, metrics=["reach"])
    assert caught.value.reason == "local_rate_limit"
    assert busy.reported_usage_percent > 80
    with pytest.raises(InstagramRateLimitError) as other:
        quiet.get_user_profile()
    assert other.value.reason == "local_rate_limit"
    assert tight.requests.count(token=quiet_token) == 0  # paused before sending
    assert tight.requests.throttled_count() == 0


def test_it_pauses_only_the_business_account_whose_usage_is_high(limiter):
    """X-Business-Use-Case-Usage counts one account: the others go on."""
    tight = Sandbox(
        seed=42,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "limits": {"graph": {"buc_calls": 10, "app_calls_per_user": 100000}},
        },
    )
    busy, _ = graph_client(tight, 0, limiter)
    quiet, quiet_token = graph_client(tight, 1, limiter)
    media_id = newest_media(tight, 0)[0]
    with pytest.raises(InstagramRateLimitError) as caught:
        for _ in range(30):
            busy.get_media_insights(media_id, metrics=["reach"])
    assert caught.value.reason == "local_rate_limit"
    assert quiet.get_media_insights(newest_media(tight, 1)[0])["media_id"]
    assert tight.requests.count(token=quiet_token, status=200) == 1
    assert tight.requests.throttled_count() == 0
    app = RateLimitBucket.objects.get(endpoint_class="app_usage")
    assert app.blocked_reason == ""


def bucket_state(limiter, specs) -> list:
    """Where each bucket stands, in the limiter's own store."""
    if isinstance(limiter, RedisLimiter):
        return [limiter.redis.get(limiter.prefix + spec.key) for spec in specs]
    return [RateLimitBucket.objects.get(key=spec.key).tat for spec in specs]


def test_it_sizes_a_batch_to_the_slots_the_limiter_grants(settings, sb, limiter):
    """Seed defaults (media_metrics 500/h): 50 media → one batch of the burst."""
    settings.PLATFORM_RATE_LIMITS = {}
    forget_known_buckets()
    client, _ = graph_client(sb, 0, limiter)
    media = newest_media(sb, 0, 50)
    burst = configured_rates("instagram")["media_metrics"].free_slots(0.0, 0.0)
    assert 1 < burst < 50
    with pytest.raises(InstagramRateLimitError) as caught:
        client.get_media_insights_batch(media)
    error = caught.value
    assert error.reason == "local_rate_limit" and error.retry_after > 0
    assert list(error.completed) == media[:burst]
    assert error.pending == media[burst:]
    assert all(r["metrics"]["reach"] > 0 for r in error.completed.values())
    assert sb.requests.count(endpoint="graph.batch") == 1
    assert sb.requests.count(endpoint=INSIGHTS) == burst  # one operation each
    assert sb.requests.throttled_count() == 0
    # A refused take takes nothing: the buckets stand where they were.
    specs = client.bucket_specs(INSIGHTS)
    before = bucket_state(limiter, specs)
    with pytest.raises(InstagramRateLimitError) as again:
        client.get_media_insights_batch(error.pending)
    assert again.value.completed == {} and again.value.pending == error.pending
    assert bucket_state(limiter, specs) == before
    assert sb.requests.count(endpoint="graph.batch") == 1


@pytest.mark.django_db(transaction=True)
def test_a_caller_resumes_a_batch_with_the_pending_ids(settings, sb):
    """After `retry_after`, the pending ids go out in the next granted batch."""
    settings.PLATFORM_RATE_LIMITS = {}
    forget_known_buckets()
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=5)
    client, _ = graph_client(sb, 0, limiter)
    media = newest_media(sb, 0, 20)
    done: dict = {}
    pending = media
    for _ in range(len(media)):
        try:
            done |= client.get_media_insights_batch(pending)
            break
        except InstagramRateLimitError as error:
            assert list(error.completed) + error.pending == pending
            done |= error.completed
            pending = error.pending
            clock.now += error.retry_after
    assert list(done) == media
    assert all(r["metrics"]["reach"] > 0 for r in done.values())
    # The burst first, then one operation per GCRA interval (500/h at 97 %):
    # never more than the shared budget allowed, and no slot left unused.
    burst = Rate.parse("500/h").free_slots(0.0, 0.0)
    assert sb.requests.count(endpoint=INSIGHTS) == len(media)
    assert sb.requests.count(endpoint="graph.batch") == 1 + len(media) - burst
    assert sb.requests.throttled_count() == 0
