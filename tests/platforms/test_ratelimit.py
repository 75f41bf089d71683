"""The shared GCRA limiter: rates, windows, inline waits, blocking, Redis."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from platforms.exceptions import PlatformRateLimitError, TikTokRateLimitError
from platforms.models import RateLimitBucket
from platforms.ratelimit import (
    SAFETY,
    BucketSpec,
    DatabaseLimiter,
    Rate,
    RedisLimiter,
    configured_rates,
    forget_known_buckets,
)
from tests.platforms.shared_database import run_workers, shared_database_env


class FakeClock:
    """A clock whose sleep moves time forward instead of waiting."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def spec(rate: str, name: str = "video_query", key: str | None = None) -> BucketSpec:
    parsed = Rate.parse(rate)
    return BucketSpec(
        key=key or f"tiktok:test:{name}:-:{uuid.uuid4().hex[:8]}:{parsed.window}",
        platform="tiktok",
        endpoint_class=name,
        rate=parsed,
    )


@pytest.fixture(autouse=True)
def _fresh_bucket_cache():
    forget_known_buckets()
    yield
    forget_known_buckets()


@pytest.mark.parametrize(
    ("text", "limit", "window"),
    [
        ("600/m", 600, 60),
        ("1000/d", 1000, 86400),
        ("30/h", 30, 3600),
        ("10/s", 10, 1),
        ("100/5m", 100, 300),
        ("40/10s", 40, 10),
    ],
)
def test_it_parses_rates_written_as_strings(text, limit, window):
    assert Rate.parse(text) == Rate(limit=limit, window=window)


@pytest.mark.parametrize("text", ["600", "600/fortnight", "/m", "ten/m"])
def test_it_rejects_malformed_rates(text):
    with pytest.raises(ValueError):
        Rate.parse(text)


def test_it_has_the_seed_defaults_and_lets_settings_override_them(settings):
    assert configured_rates("instagram")["business_discovery"] == Rate(30, 3600)
    assert configured_rates("tiktok")["video_metrics"] == Rate(1000, 86400)
    settings.PLATFORM_RATE_LIMITS = {"tiktok": {"video_metrics": "2000/d"}}
    assert configured_rates("tiktok")["video_metrics"] == Rate(2000, 86400)
    assert configured_rates("tiktok")["user_info"] == Rate(600, 60)


def test_it_never_lets_a_sliding_window_see_more_than_the_limit():
    """GCRA settings keep every 60 s window under the limit at full demand."""
    rate = Rate.parse("120/m")
    grants, tat, now = [], 0.0, 0.0
    while now < 300:
        if tat <= now + rate.tolerance:
            grants.append(now)
            tat = max(tat, now) + rate.interval
        now = round(now + 0.01, 2)
    worst = max(
        sum(1 for g in grants if start < g <= start + 60)
        for start in [g - 1e-9 for g in grants]
    )
    assert worst <= 120
    assert len(grants) / 5 >= SAFETY * 120 - 1  # per minute, sustained


@pytest.mark.django_db
def test_it_grants_a_daily_budget_at_once_then_refuses():
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=0)
    bucket = spec("5/d")
    for _ in range(5):
        limiter.acquire([bucket], platform="tiktok")
    with pytest.raises(TikTokRateLimitError) as caught:
        limiter.acquire([bucket], platform="tiktok")
    assert caught.value.retry_after == pytest.approx(86400 / 5, rel=1e-3)
    assert RateLimitBucket.objects.get(key=bucket.key).tat == pytest.approx(
        clock.now + 86400
    )


@pytest.mark.django_db
def test_it_waits_inline_for_a_short_wait():
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=5)
    bucket = spec("10/s")
    for _ in range(30):
        limiter.acquire([bucket])
    assert clock.slept, "later requests had to wait"
    assert max(clock.slept) < 1.0
    assert clock.now - 1_800_000_000.0 >= 2.0  # ~10 per second, not 30 at once


@pytest.mark.django_db
def test_it_raises_with_retry_after_for_a_long_wait():
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=5)
    bucket = spec("2/h")
    limiter.acquire([bucket])
    with pytest.raises(PlatformRateLimitError) as caught:
        limiter.acquire([bucket])
    assert caught.value.retry_after > 5
    assert not clock.slept


@pytest.mark.django_db
def test_it_takes_all_windows_or_none():
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=0)
    minute, day = spec("6000/m", "video_query"), spec("3/d", "video_metrics")
    for _ in range(3):
        limiter.acquire([minute, day])
    tat_before = RateLimitBucket.objects.get(key=minute.key).tat
    with pytest.raises(PlatformRateLimitError):
        limiter.acquire([minute, day])
    # The refused daily window did not cost the minute window a slot.
    assert RateLimitBucket.objects.get(key=minute.key).tat == tat_before


@pytest.mark.django_db
def test_it_blocks_every_worker_until_a_time():
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=0)
    bucket = spec("600/m")
    limiter.block([bucket], clock.now + 30, "platform throttled")
    other_worker = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=0)
    with pytest.raises(PlatformRateLimitError) as caught:
        other_worker.acquire([bucket])
    assert caught.value.retry_after == pytest.approx(30, abs=0.01)
    row = RateLimitBucket.objects.get(key=bucket.key)
    assert row.blocked_reason == "platform throttled"
    clock.now += 30
    other_worker.acquire([bucket])


@pytest.mark.django_db
def test_it_stores_reported_usage_and_slows_down_above_80_percent():
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=0)
    bucket = spec("200/h", "media_metrics")
    usage = {"x-app-usage": {"call_count": 50, "total_cputime": 10, "total_time": 12}}
    limiter.record_usage([bucket], usage, 50)
    limiter.acquire([bucket])  # 50 %: no slow-down
    assert RateLimitBucket.objects.get(key=bucket.key).reported_usage == usage
    limiter.record_usage([bucket], usage, 90)
    with pytest.raises(PlatformRateLimitError) as caught:
        limiter.acquire([bucket])
    assert caught.value.retry_after == pytest.approx(30, abs=0.5)


@pytest.mark.django_db
def test_it_keeps_the_bucket_limit_in_step_with_settings():
    clock = FakeClock()
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=0)
    key = f"tiktok:test:video_query:-:{uuid.uuid4().hex}:60"
    limiter.acquire([spec("600/m", key=key)])
    forget_known_buckets()
    limiter.acquire([spec("300/m", key=key)])
    assert RateLimitBucket.objects.get(key=key).limit == 300


def _redis_url() -> str:
    return settings.REDIS_URL or "redis://127.0.0.1:6379/13"


@pytest.mark.django_db
def test_it_shares_one_budget_through_redis():
    clock = FakeClock()
    prefix = f"sm:test:{uuid.uuid4().hex}:"
    first = RedisLimiter(_redis_url(), prefix=prefix, clock=clock, max_inline_wait=0)
    second = RedisLimiter(_redis_url(), prefix=prefix, clock=clock, max_inline_wait=0)
    minute, day = spec("6000/m"), spec("4/d", "video_metrics")
    granted = 0
    for limiter in [first, second] * 5:
        try:
            limiter.acquire([minute, day])
            granted += 1
        except PlatformRateLimitError:
            pass
    assert granted == 4
    first.block([minute], clock.now + 10, "throttled")
    with pytest.raises(PlatformRateLimitError):
        second.acquire([minute])
    first.redis.delete(*first.redis.keys(prefix + "*"))


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_it_shares_the_budget_between_two_processes(tmp_path, backend):
    """Two OS processes, 300 tries each, one 400/day bucket: exactly 400 granted."""
    env = shared_database_env(tmp_path / "db")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    tag = uuid.uuid4().hex[:8]
    params = [
        {
            "backend": backend,
            "rate": "400/d",
            "key": f"tiktok:mp:{tag}:-:86400",
            "attempts": 300,
            "peers": 2,
            "name": name,
            "barrier": str(barrier),
            "redis_url": _redis_url(),
            "prefix": f"sm:test:{tag}:",
        }
        for name in ("a", "b")
    ]
    results = run_workers("take_slots", params, env)
    assert sum(r["granted"] for r in results) == 400
    assert all(r["granted"] > 0 for r in results), "both processes took slots"


def limiter_for(backend: str, clock: FakeClock, **kwargs):
    if backend == "redis":
        prefix = f"sm:test:{uuid.uuid4().hex}:"
        return RedisLimiter(
            _redis_url(), prefix=prefix, clock=clock, sleep=clock.sleep, **kwargs
        )
    return DatabaseLimiter(clock=clock, sleep=clock.sleep, **kwargs)


def state_of(limiter, specs) -> list:
    """Each bucket's GCRA time as the backend stores it."""
    if isinstance(limiter, RedisLimiter):
        return [limiter.redis.get(limiter.prefix + s.key) for s in specs]
    return [RateLimitBucket.objects.get(key=s.key).tat for s in specs]


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_it_grants_up_to_n_slots_at_once_within_every_window(backend):
    """user_profile 200/h bursts 3; a 2/day budget beside it caps the take at 2."""
    clock = FakeClock()
    limiter = limiter_for(backend, clock, max_inline_wait=0)
    hourly = spec("200/h", "user_profile")
    assert limiter.acquire_up_to([hourly], 50) == 3
    daily = spec("2/d", "video_metrics")
    clock.now += 3600
    assert limiter.acquire_up_to([hourly, daily], 50) == 2
    assert limiter.acquire_up_to([hourly], 1) == 1  # the hourly one had 3


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_a_refused_multi_slot_take_leaves_every_bucket_unchanged(backend):
    clock = FakeClock()
    limiter = limiter_for(backend, clock, max_inline_wait=5)
    hourly, daily = spec("500/h", "media_metrics"), spec("1000/d", "video_metrics")
    specs = sorted([hourly, daily], key=lambda s: s.key)
    granted = limiter.acquire_up_to(specs, 50)
    assert granted == Rate.parse("500/h").free_slots(0.0, 0.0) == 7
    before = state_of(limiter, specs)
    with pytest.raises(PlatformRateLimitError) as caught:
        limiter.acquire_up_to(specs, 50)
    # 500/h at 97 %: the next slot is one interval (~7.4 s) away, beyond 5 s.
    assert caught.value.retry_after == pytest.approx(3600 / 485, abs=0.01)
    assert state_of(limiter, specs) == before
    assert not clock.slept
    clock.now += caught.value.retry_after
    assert limiter.acquire_up_to(specs, 50) == 1
    if backend == "redis":
        limiter.redis.delete(*limiter.redis.keys(limiter.prefix + "*"))


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_it_waits_inline_for_a_short_multi_slot_wait(backend):
    clock = FakeClock()
    limiter = limiter_for(backend, clock, max_inline_wait=5)
    bucket = spec("600/m")  # burst 9, then one slot every ~0.1 s
    assert limiter.acquire_up_to([bucket], 50) == 9
    assert limiter.acquire_up_to([bucket], 50) == 1
    assert clock.slept and max(clock.slept) < 0.2


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", "redis"])
def test_two_processes_taking_many_slots_at_once_never_overshoot(tmp_path, backend):
    """Two processes take up to 7 slots at a time from one 400/day budget."""
    env = shared_database_env(tmp_path / "db")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    tag = uuid.uuid4().hex[:8]
    params = [
        {
            "backend": backend,
            "rate": "400/d",
            "key": f"tiktok:mp:{tag}:-:86400",
            "attempts": 100,
            "n": 7,
            "peers": 2,
            "name": name,
            "barrier": str(barrier),
            "redis_url": _redis_url(),
            "prefix": f"sm:test:{tag}:",
        }
        for name in ("a", "b")
    ]
    results = run_workers("take_slots", params, env)
    assert sum(r["granted"] for r in results) == 400
    assert all(r["granted"] > 0 for r in results), "both processes took slots"


@pytest.mark.django_db
def test_taking_blocking_and_reporting_move_updated_at(time_machine):
    # The limiter writes with conditional UPDATEs, which auto_now does not see.
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 12, 4, 6, 17, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    clock = FakeClock(start.timestamp())
    limiter = DatabaseLimiter(clock=clock, sleep=clock.sleep, max_inline_wait=0)
    bucket = spec("1000/d", "video_metrics")
    limiter.acquire([bucket])
    assert RateLimitBucket.objects.get(key=bucket.key).updated_at == start
    for minutes in (16, 17, 18):
        moment = start + timedelta(minutes=minutes)
        time_machine.move_to(moment, tick=False)
        clock.now = moment.timestamp()
        if minutes == 16:
            limiter.acquire([bucket])
        elif minutes == 17:
            limiter.record_usage([bucket], {"x-app-usage": {"call_count": 5}}, 5)
        else:
            limiter.block([bucket], clock.now + 30, "platform throttled")
        assert RateLimitBucket.objects.get(key=bucket.key).updated_at == moment


@pytest.mark.django_db
def test_staff_status_counts_slots_taken_in_redis(time_machine):
    # Redis keeps the GCRA state; the bucket row only sees blocks. The staff
    # page and admin read the live state, or "used" would always say 0.
    from datetime import UTC, datetime

    from platforms import monitoring

    start = datetime(2026, 12, 4, 6, 17, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    clock = FakeClock(start.timestamp())
    limiter = limiter_for("redis", clock, max_inline_wait=0)
    bucket = spec("600/m", "video_query")
    granted = limiter.acquire_up_to([bucket], 30)
    assert RateLimitBucket.objects.get(key=bucket.key).tat == 0.0, "row saw no take"
    (status,) = [
        s
        for s in monitoring.rate_limit_status(now=start, limiter=limiter)
        if s.bucket.key == bucket.key
    ]
    # A partly drained slot counts as taken (rounded up): at most one more.
    assert granted > 0
    assert granted <= status.used <= granted + 1
    limiter.redis.delete(*limiter.redis.keys(limiter.prefix + "*"))
