"""Retry-After parsing, full-jitter backoff and which failures are retried."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from platforms.exceptions import (
    PlatformAPIError,
    PlatformAuthError,
    PlatformDataError,
    PlatformRateLimitError,
    YouTubeQuotaExceeded,
)
from platforms.http import (
    RetryPolicy,
    build_client,
    is_transient,
    parse_retry_after,
    request_with_retries,
)


def test_it_reads_retry_after_in_seconds_and_as_an_http_date():
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("120", now=now) == 120
    date = format_datetime(datetime(2026, 12, 3, 12, 1, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(90)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_it_backs_off_with_full_jitter_under_a_cap():
    policy = RetryPolicy(base_delay=0.5, max_delay=5.0)
    rng = random.Random(1)
    delays = [policy.backoff(n, rng) for n in range(10) for _ in range(50)]
    assert all(0 <= d <= 5.0 for d in delays)
    assert max(policy.backoff(0, rng) for _ in range(200)) <= 0.5
    assert max(delays) > 4.0  # the cap is reached, the full range is used
    assert len(set(delays)) > 400  # jittered, not a fixed schedule


def test_it_retries_transient_failures_and_honours_retry_after():
    outcomes = [
        PlatformAPIError("boom", status=503),
        PlatformRateLimitError("slow down", status=429, retry_after=2.0),
        "done",
    ]
    slept: list[float] = []

    def attempt():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert request_with_retries(attempt, sleep=slept.append) == "done"
    assert len(slept) == 2 and slept[1] >= 2.0


@pytest.mark.parametrize(
    "error",
    [
        YouTubeQuotaExceeded("quotaExceeded", status=403, reason="quotaExceeded"),
        PlatformAuthError("insufficientPermissions", status=403),
        PlatformAPIError("invalid_params", status=400, permanent=True),
        PlatformAPIError("commentsDisabled", status=403, permanent=True),
        PlatformDataError("no items list", permanent=True),
    ],
)
def test_it_never_retries_permanent_failures(error):
    calls = []

    def attempt():
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        request_with_retries(attempt, sleep=lambda s: None)
    assert len(calls) == 1
    assert not is_transient(error)


def test_it_gives_up_after_three_tries():
    calls = []

    def attempt():
        calls.append(1)
        raise PlatformAPIError("timeout", reason="timeout")

    with pytest.raises(PlatformAPIError):
        request_with_retries(attempt, sleep=lambda s: None)
    assert len(calls) == 3


def test_it_raises_instead_of_sleeping_long():
    slept = []

    def attempt():
        raise PlatformRateLimitError("throttled", status=429, retry_after=600)

    with pytest.raises(PlatformRateLimitError) as caught:
        request_with_retries(attempt, sleep=slept.append)
    assert caught.value.retry_after == 600 and not slept


def test_it_builds_a_pooled_client_with_timeouts():
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "ua": request.headers["user-agent"],
                "enc": request.headers["accept-encoding"],
            },
        )

    with build_client(transport=httpx.MockTransport(echo), timeout=7) as client:
        body = client.get("https://example.test/").json()
        assert client.timeout.read == 7
    assert body["ua"].startswith("socialmetrics/")
    assert "gzip" in body["enc"]
