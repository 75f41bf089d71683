"""Staff pages: only staff get in; they show quota, limits, errors and health."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import charts
from platforms import monitoring
from platforms.models import ApiCallLog, ErrorLog, QuotaUsage, RateLimitBucket
from platforms.quota import PACIFIC, next_reset, quota_day
from tests.dashboard.test_views import figure_of

STAFF_URLS = [
    "dashboard:staff-quota",
    "dashboard:staff-rate-limits",
    "dashboard:staff-errors",
    "dashboard:staff-api-health",
]


@pytest.fixture
def error(youtube_account):
    return ErrorLog.objects.create(
        platform="youtube",
        error_class="quota",
        code="403",
        reason="quotaExceeded",
        message="The request cannot be completed because you have exceeded your quota.",
        account=youtube_account,
        request_id="req-123",
        context={"url": "https://www.googleapis.com/youtube/v3/videos?key=[REDACTED]"},
    )


@pytest.fixture
def quota_row():
    now = timezone.now()
    return QuotaUsage.objects.create(
        platform="youtube",
        project="sandbox-google-client-id",
        day=quota_day(now, PACIFIC),
        units_used=2500,
        limit=10000,
        resets_at=next_reset(now, PACIFIC),
    )


@pytest.mark.parametrize("name", STAFF_URLS)
def test_creators_and_visitors_are_kept_out(client, creator, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(creator)
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("name", STAFF_URLS)
def test_staff_see_every_page(client, staff_user, name, error, quota_row):
    client.force_login(staff_user)
    assert client.get(reverse(name)).status_code == 200


def test_the_quota_page_shows_usage_percent_and_reset(client, staff_user, quota_row):
    ApiCallLog.objects.create(
        platform="youtube",
        endpoint="youtube.videos",
        method="GET",
        status_code=200,
        quota_cost=1,
        project=quota_row.project,
        latency_ms=30,
    )
    client.force_login(staff_user)
    html = client.get(reverse("dashboard:staff-quota")).content.decode()
    assert "25.0 %" in html
    assert "youtube.videos" in html
    assert "midnight America/Los_Angeles" in html


def test_the_forecast_says_when_the_quota_runs_out():
    day_start = dt.datetime(2026, 6, 1, 0, 0, tzinfo=PACIFIC)
    now = day_start + dt.timedelta(hours=6)
    row = QuotaUsage(units_used=5000, limit=10000)
    # Half the quota in 6 hours: the rest lasts 6 more hours.
    assert monitoring._forecast(row, day_start, now) == now + dt.timedelta(hours=6)
    slow = QuotaUsage(units_used=100, limit=10000)
    assert monitoring._forecast(slow, day_start, now) is None


def test_errors_filter_and_resolve(client, staff_user, error):
    client.force_login(staff_user)
    listing = client.get(reverse("dashboard:staff-errors"), {"platform": "tiktok"})
    assert "No errors match" in listing.content.decode()
    listing = client.get(reverse("dashboard:staff-errors"), {"code": "quotaExceeded"})
    assert "exceeded your quota" in listing.content.decode()
    detail = client.get(reverse("dashboard:staff-error", args=[error.pk]))
    assert "req-123" in detail.content.decode()
    client.post(reverse("dashboard:staff-error-resolve", args=[error.pk]))
    error.refresh_from_db()
    assert error.resolved and error.resolved_at is not None


def test_health_percentiles_are_nearest_rank(db):
    for latency in range(1, 101):
        ApiCallLog.objects.create(
            platform="tiktok",
            endpoint="tiktok.video.query",
            method="POST",
            status_code=500 if latency > 90 else 200,
            latency_ms=latency,
        )
    (row,) = monitoring.api_health(since=timezone.now() - dt.timedelta(hours=1))
    assert (row.p50_ms, row.p95_ms, row.p99_ms) == (50, 95, 99)
    assert row.error_rate == pytest.approx(0.10)


def test_rate_limit_page_shows_blocked_buckets(client, staff_user, time_machine):
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    RateLimitBucket.objects.create(
        key="tiktok:app:video.list",
        platform="tiktok",
        endpoint_class="video.list",
        limit=600,
        window_seconds=60,
        tat=now.timestamp() + 30,
        blocked_until=now + dt.timedelta(minutes=5),
        blocked_reason="429 from platform",
    )
    client.force_login(staff_user)
    html = client.get(reverse("dashboard:staff-rate-limits")).content.decode()
    assert "300 / 600" in html
    assert "429 from platform" in html


def test_the_api_explorer_is_staff_only_and_validates_its_form(
    client, creator, staff_user, youtube_account
):
    url = reverse("dashboard:staff-api-explorer")
    client.force_login(creator)
    assert client.get(url).status_code == 302
    client.force_login(staff_user)
    page = client.get(url)
    assert page.status_code == 200
    assert "youtube.channels" in page.content.decode()
    wrong = client.post(
        url, {"account": youtube_account.pk, "endpoint": "tiktok.user.info"}
    )
    assert wrong.status_code == 400
    assert "pick a YouTube one" in wrong.content.decode()
    assert client.post(url, {"account": "", "endpoint": ""}).status_code == 400


def _calls(platform, endpoint, at, latencies, *, errors=0):
    ApiCallLog.objects.bulk_create(
        ApiCallLog(
            platform=platform,
            endpoint=endpoint,
            method="GET",
            status_code=500 if n < errors else 200,
            latency_ms=latency,
            created_at=at,
        )
        for n, latency in enumerate(latencies)
    )


@pytest.fixture
def hours(db):
    first = timezone.now().replace(minute=0, second=0, microsecond=0)
    first -= dt.timedelta(hours=2)
    second = first + dt.timedelta(hours=1)
    _calls(
        "tiktok",
        "tiktok.video.list",
        first + dt.timedelta(minutes=5),
        range(1, 101),
        errors=10,
    )
    _calls(
        "tiktok",
        "tiktok.user.info",
        second + dt.timedelta(minutes=5),
        range(200, 220),
        errors=5,
    )
    _calls(
        "youtube", "youtube.videos", first + dt.timedelta(minutes=9), [40, 10, 30, 20]
    )
    # A call without a reply has no latency: counted, not ranked.
    ApiCallLog.objects.create(
        platform="youtube",
        endpoint="youtube.videos",
        method="GET",
        status_code=None,
        created_at=first + dt.timedelta(minutes=9),
    )
    return first, second


def test_health_over_time_has_error_rate_and_percentiles_per_platform_hour(hours):
    first, second = hours
    rows = monitoring.api_health_over_time(since=first - dt.timedelta(hours=1))
    by_key = {(row.platform, row.hour): row for row in rows}
    tiktok_a, tiktok_b = by_key["tiktok", first], by_key["tiktok", second]
    assert (tiktok_a.requests, tiktok_a.p50_ms, tiktok_a.p95_ms) == (100, 50, 95)
    assert tiktok_a.error_rate == pytest.approx(0.10)
    # 20 calls of 200..219 ms: rank ceil(0.5·20) = 10 and ceil(0.95·20) = 19.
    assert (tiktok_b.requests, tiktok_b.p50_ms, tiktok_b.p95_ms) == (20, 209, 218)
    assert tiktok_b.error_rate == pytest.approx(0.25)
    youtube = by_key["youtube", first]
    assert (youtube.requests, youtube.errors) == (5, 1)
    assert (youtube.p50_ms, youtube.p95_ms) == (20, 40)
    only = monitoring.api_health_over_time(
        since=first - dt.timedelta(hours=1), endpoint="tiktok:tiktok.user.info"
    )
    assert [(row.platform, row.hour, row.requests) for row in only] == [
        ("tiktok", second, 20)
    ]


def test_health_queries_do_not_grow_with_endpoints(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    since = now - dt.timedelta(hours=1)
    _calls("tiktok", "e0", now, [5, 6])
    with CaptureQueriesContext(connection) as few:
        monitoring.api_health(since=since)
        monitoring.api_health_over_time(since=since)
    for n in range(1, 12):
        _calls("tiktok", f"e{n}", now, [n, n + 1, n + 2])
    with CaptureQueriesContext(connection) as many:
        health = monitoring.api_health(since=since)
        monitoring.api_health_over_time(since=since)
    assert len(health) == 12
    assert (health[1].endpoint, health[1].p50_ms) == ("e1", 2)
    assert len(many) == len(few) == 4


def test_the_health_page_draws_error_rate_and_latency_over_time(
    client, staff_user, hours
):
    from tests.dashboard.test_views import figure_of

    first, second = hours
    client.force_login(staff_user)
    html = client.get(reverse("dashboard:staff-api-health")).content.decode()
    errors = {t["name"]: t for t in figure_of(html, "health-errors")["data"]}
    assert errors["tiktok"]["y"] == [0.1, 0.25]
    latency = {t["name"]: t for t in figure_of(html, "health-latency")["data"]}
    assert latency["tiktok p50"]["y"] == [50, 209]
    assert latency["tiktok p95"]["y"] == [95, 218]
    assert latency["youtube p95"]["y"] == [40]
    assert latency["tiktok p95"]["line"]["dash"] == "dash"
    assert "nearest-rank percentiles" in html
    one = client.get(
        reverse("dashboard:staff-api-health"),
        {"endpoint": "youtube:youtube.videos"},
    ).content.decode()
    assert set(t["name"] for t in figure_of(one, "health-latency")["data"]) == {
        "youtube p50",
        "youtube p95",
    }


def test_bucket_usage_and_percent_agree_in_admin_and_staff_page(
    client, staff_user, time_machine
):
    now = timezone.now()
    time_machine.move_to(now, tick=False)
    half = RateLimitBucket.objects.create(
        key="tiktok:app:video.list",
        platform="tiktok",
        endpoint_class="video.list",
        limit=600,
        window_seconds=60,
        tat=now.timestamp() + 30,
    )
    # GCRA lets the last request run past the window: 601 slots "used".
    RateLimitBucket.objects.create(
        key="instagram:app:graph",
        platform="instagram",
        endpoint_class="graph",
        limit=200,
        window_seconds=3600,
        tat=now.timestamp() + 3600 * 201 / 200,
        blocked_until=now + dt.timedelta(minutes=3),
    )
    client.force_login(staff_user)
    admin = client.get("/admin/platforms/ratelimitbucket/").content.decode()
    assert "300 / 600 per 60 s" in admin and "50.0 %" in admin
    assert "200 / 200 per 3600 s" in admin and "100.0 %" in admin
    assert "100.5 %" not in admin
    page = client.get(reverse("dashboard:staff-rate-limits")).content.decode()
    assert "200 / 200" in page and "100.0 %" in page and "100.5" not in page
    blocked = client.get(
        "/admin/platforms/ratelimitbucket/", {"blocked": "yes"}
    ).content.decode()
    assert "instagram:app:graph" in blocked and half.key not in blocked


def test_rate_limit_page_puts_graph_usage_headers_into_words(client, staff_user):
    RateLimitBucket.objects.create(
        key="instagram:app:graph",
        platform="instagram",
        endpoint_class="graph",
        limit=200,
        window_seconds=3600,
        reported_usage={
            "x-app-usage": {"call_count": 12, "total_cputime": 3, "total_time": 4.5},
            "x-business-use-case-usage": {
                "17841400000000001": [
                    {
                        "type": "instagram",
                        "call_count": 81,
                        "total_cputime": 10,
                        "total_time": 20,
                        "estimated_time_to_regain_access": 7,
                    }
                ]
            },
        },
        reported_at=timezone.now(),
    )
    client.force_login(staff_user)
    html = client.get(reverse("dashboard:staff-rate-limits")).content.decode()
    assert "App: calls 12 %, CPU time 3 %, total time 4.5 %" in html
    assert (
        "Business 17841400000000001 (instagram): calls 81 %, CPU time 10 %, "
        "total time 20 %, access back in 7 min"
    ) in html
    assert "{&#x27;" not in html and "x-app-usage" not in html


def test_the_burn_down_spans_the_quota_day_with_its_pace(
    client, staff_user, time_machine
):
    # 10:50 Pacific: 800 units since midnight, in two hours of calls.
    now = dt.datetime(2026, 12, 4, 10, 50, tzinfo=PACIFIC)
    time_machine.move_to(now, tick=False)
    day_start = dt.datetime(2026, 12, 4, tzinfo=PACIFIC)
    QuotaUsage.objects.create(
        platform="youtube",
        project="p1",
        day=quota_day(now, PACIFIC),
        units_used=800,
        limit=10000,
        resets_at=next_reset(now, PACIFIC),
    )
    for at, cost in (
        (day_start + dt.timedelta(hours=9, minutes=5), 500),
        (day_start + dt.timedelta(hours=10, minutes=40), 300),
    ):
        ApiCallLog.objects.create(
            platform="youtube",
            endpoint="youtube.search",
            method="GET",
            status_code=200,
            quota_cost=cost,
            project="p1",
            created_at=at,
        )
    (status,) = monitoring.quota_today(now=now)
    assert status.burn == [
        (day_start, 0),
        (day_start + dt.timedelta(hours=10), 500),  # the end of the 9 o'clock hour
        (day_start + dt.timedelta(hours=10, minutes=40), 800),  # its last call
    ]
    client.force_login(staff_user)
    html = client.get(reverse("dashboard:staff-quota")).content.decode()
    figure = figure_of(html, "quota-0")
    assert figure["layout"]["xaxis"]["range"] == [
        charts.axis_label(day_start),
        charts.axis_label(status.resets_at),
    ]
    (pace,) = [t for t in figure["data"] if t["name"] == "at this pace"]
    # 800 units in 10 h 50 min of a 24 h day: about 1,772 by the reset.
    assert pace["y"] == [800, round(800 * 24 * 60 / 650)]
