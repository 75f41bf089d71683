"""A rate limiter shared by every thread, process and host (GCRA).

Each limit is a *window* ("600/m") kept as one bucket, keyed by platform,
app, endpoint class, account (where the platform limits per user) and the
window length. A request takes one slot from every bucket that applies, all
or nothing.

GCRA (generic cell rate algorithm) keeps one number per bucket, `tat`, the
theoretical arrival time. With `interval = window / limit` and a burst
tolerance `tau`, a request at `now` is allowed when `tat <= now + tau`, and
taking it sets `tat = max(tat, now) + interval`. The check and the take are
one conditional UPDATE (``... SET tat = MAX(tat, now) + interval WHERE key = k
AND tat <= now + tau``): the database serialises concurrent workers, so the
budget cannot be overshot. Several windows are taken in one transaction, in
key order (no deadlocks); if any refuses, the transaction rolls back.
With `settings.REDIS_URL` set, a Lua script does the same in Redis.

Platforms count in sliding windows, which GCRA with a full-window burst
would overshoot (a full burst, then one request per interval, puts nearly
two windows' worth into one sliding window). So windows shorter than a day
run at `SAFETY` (97 %) of the stated limit with a small burst, which keeps
any sliding window under the limit even when requests reach the platform up
to about a second late. Daily windows are budgets and may be spent at once.

A request that stands for several calls (a Graph batch: each operation
counts on its own) asks for up to `n` slots at once (`acquire_up_to`): it
gets the largest `k <= n` every bucket can give now, taken from all of
them in one step, and sends only `k` operations. A refusal takes nothing.

A wait of up to `max_inline_wait` seconds is slept inline; a longer one
raises `PlatformRateLimitError(retry_after=...)` so the job is re-queued.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from platforms.exceptions import PlatformRateLimitError, error_class_for

logger = logging.getLogger("platforms.ratelimit")

SAFETY = 0.97
#: Float slack when comparing GCRA times (a microsecond).
_EPSILON = 1e-6
#: Share of a platform-reported usage (Graph X-App-Usage) above which to slow down.
SLOW_DOWN_ABOVE_PERCENT = 80.0

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}
_UNITS |= {"d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    """`limit` requests per `window` seconds, parsed from strings like "600/m"."""

    limit: int
    window: int

    @classmethod
    def parse(cls, text: str | Rate) -> Rate:
        """Parse "600/m", "1000/d", "30/h", "10/s" or "100/5m"."""
        if isinstance(text, Rate):
            return text
        match = _RATE.match(text)
        if not match or match.group(3).lower() not in _UNITS:
            raise ValueError(f"invalid rate {text!r}; expected e.g. '600/m'")
        count, multiple, unit = match.groups()
        window = int(multiple or 1) * _UNITS[unit.lower()]
        return cls(limit=int(count), window=window)

    def __str__(self) -> str:
        return f"{self.limit}/{self.window}s"

    @property
    def is_budget(self) -> bool:
        """Daily (or longer) limits are budgets: bursting is harmless."""
        return self.window >= 86400

    @property
    def interval(self) -> float:
        """Seconds of GCRA credit one request uses."""
        if self.is_budget:
            return self.window / self.limit
        return self.window / max(1, math.floor(self.limit * SAFETY))

    @property
    def tolerance(self) -> float:
        """GCRA burst tolerance `tau`: how far `tat` may run ahead of now."""
        if self.is_budget:
            return self.window - self.interval
        burst = max(1, (self.limit - math.floor(self.limit * SAFETY)) // 2)
        return (burst - 1) * self.interval

    def free_slots(self, tat: float, now: float) -> int:
        """How many requests a bucket at `tat` grants at `now`, all at once.

        Taking `k` moves `tat` to `max(tat, now) + k * interval`, which is
        allowed while `tat + (k - 1) * interval <= now + tau`.
        """
        start = max(tat, now)
        if start > now + self.tolerance + _EPSILON:
            return 0
        return math.floor((now + self.tolerance - start) / self.interval + 1e-9) + 1

    def wait_for_slot(self, tat: float, now: float) -> float:
        """Seconds until a bucket at `tat` grants one request."""
        return max(tat - self.tolerance - now, 1e-3)


@dataclass(frozen=True)
class Window:
    """One limit that applies to an endpoint: class name, rate, per account?"""

    endpoint_class: str
    rate: Rate
    per_account: bool = False


@dataclass(frozen=True)
class BucketSpec:
    """A concrete bucket: a window bound to an app and (maybe) an account."""

    key: str
    platform: str
    endpoint_class: str
    rate: Rate
    account_id: int | None = None


#: Instagram's app-wide window, paused by Graph's X-App-Usage header.
APP_USAGE_CLASS = "app_usage"

# Seed defaults (issue 4). Endpoint names are the sandbox's / request log's.
# TikTok: 600 requests per minute per endpoint (PLATFORM_APIS.md 1.3) plus
# the product's per-account daily budgets. Instagram: the product's hourly
# budgets per account; Graph's own limit is usage-based (X-App-Usage).
DEFAULT_RATES: dict[str, dict[str, str]] = {
    "tiktok": {
        "user_info": "600/m",
        "video_list": "600/m",
        "video_query": "600/m",
        "video_metrics": "1000/d",
        "user_metrics": "500/d",
        "analytics": "100/h",
    },
    # Per project, short-term: Google answers rateLimitExceeded past roughly
    # 3,000 requests per 100 s (unsure; configurable), whatever the daily quota.
    "youtube": {
        "data_api": "3000/100s",
        "analytics": "3000/100s",
    },
    "instagram": {
        "user_profile": "200/h",
        "media_metrics": "500/h",
        "story_metrics": "200/h",
        "business_discovery": "30/h",
        # One bucket per Facebook app that every Graph call takes a slot from.
        # Graph limits an app by the usage it reports (X-App-Usage), not by a
        # published count, so this rate stays far above the per-account
        # budgets; the bucket exists so that app-wide usage can pause every
        # account of the app at once (Limiter.record_usage).
        APP_USAGE_CLASS: "100000/h",
    },
}

# Endpoint → (endpoint class, per account?) for every window that applies.
ENDPOINT_CLASSES: dict[str, tuple[tuple[str, bool], ...]] = {
    "tiktok.user.info": (("user_info", False), ("user_metrics", True)),
    "tiktok.video.list": (("video_list", False), ("video_metrics", True)),
    "tiktok.video.query": (("video_query", False), ("video_metrics", True)),
    "tiktok.business.get": (("analytics", True),),
    "tiktok.business.video.list": (("analytics", True),),
    "graph.me.accounts": ((APP_USAGE_CLASS, False),),
    "graph.ig_user": (("user_profile", True), (APP_USAGE_CLASS, False)),
    "graph.ig_user.insights": (("user_profile", True), (APP_USAGE_CLASS, False)),
    "graph.ig_media": (("media_metrics", True), (APP_USAGE_CLASS, False)),
    "graph.ig_stories": (("story_metrics", True), (APP_USAGE_CLASS, False)),
    "graph.media.insights": (("media_metrics", True), (APP_USAGE_CLASS, False)),
    "graph.story.insights": (("story_metrics", True), (APP_USAGE_CLASS, False)),
    "graph.business_discovery": (
        ("business_discovery", True),
        (APP_USAGE_CLASS, False),
    ),
    "youtube.channels": (("data_api", False),),
    "youtube.playlistItems": (("data_api", False),),
    "youtube.videos": (("data_api", False),),
    "youtube.analytics.reports": (("analytics", False),),
}


def configured_rates(platform: str) -> dict[str, Rate]:
    """Seed defaults overlaid with `settings.PLATFORM_RATE_LIMITS[platform]`."""
    overrides: Mapping[str, Any] = getattr(settings, "PLATFORM_RATE_LIMITS", {})
    merged = {**DEFAULT_RATES.get(platform, {}), **overrides.get(platform, {})}
    return {name: Rate.parse(text) for name, text in merged.items()}


def bucket_key(
    platform: str, app: str, endpoint_class: str, account: str | None, rate: Rate
) -> str:
    return f"{platform}:{app}:{endpoint_class}:{account or '-'}:{rate.window}"


class Limiter:
    """The shared limiter's interface; see `DatabaseLimiter`, `RedisLimiter`."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_inline_wait: float = 5.0,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.max_inline_wait = max_inline_wait

    def try_take(self, specs: Sequence[BucketSpec], now: float) -> float:
        """Take one slot from every bucket, or none: return 0, or seconds to wait."""
        granted, wait = self.try_take_up_to(specs, 1, now)
        return 0.0 if granted else wait

    def try_take_up_to(
        self, specs: Sequence[BucketSpec], n: int, now: float
    ) -> tuple[int, float]:
        """Take the same `k <= n` slots from every bucket, or none at all.

        Returns `(k, 0.0)` with `k >= 1`, or `(0, seconds until one slot)`.
        `k` is the most every bucket can grant at `now`; the take is atomic,
        so a refusal (or a race lost to another worker) leaves every bucket
        as it was.
        """
        raise NotImplementedError

    def block(self, specs: Iterable[BucketSpec], until: float, reason: str) -> None:
        """Make every bucket refuse requests until `until` (Unix seconds)."""
        raise NotImplementedError

    def live_tats(self, keys: Sequence[str]) -> dict[str, float]:
        """Each bucket's GCRA state where it lives outside the bucket table.

        Empty by default: the table's `tat` is the state. A limiter that
        keeps the state elsewhere returns it, so staff pages count the
        slots taken now rather than a row that never sees a take.
        """
        return {}

    def acquire(self, specs: Sequence[BucketSpec], *, platform: str = "") -> None:
        """Take a slot from every bucket, sleeping short waits inline.

        Raises the platform's `PlatformRateLimitError` subclass with
        `retry_after` when the wait is longer than `max_inline_wait`.
        """
        self.acquire_up_to(specs, 1, platform=platform)

    def acquire_up_to(
        self, specs: Sequence[BucketSpec], n: int, *, platform: str = ""
    ) -> int:
        """Take up to `n` slots from every bucket; return how many were granted.

        The count is what the shared budget allows right now (after at most
        one short inline wait per try), between 1 and `n`; the caller sends
        that many calls and keeps the rest for later. When not even one slot
        opens within `max_inline_wait`, raises the platform's
        `PlatformRateLimitError` with `retry_after` and takes nothing.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        if not specs:
            return n
        ordered = sorted(specs, key=lambda spec: spec.key)
        while True:
            granted, wait = self.try_take_up_to(ordered, n, self.clock())
            if granted:
                return granted
            if wait > self.max_inline_wait:
                error = error_class_for(platform, PlatformRateLimitError)
                raise error(
                    f"local rate limit: next slot in {wait:.1f}s",
                    reason="local_rate_limit",
                    retry_after=wait,
                    permanent=False,
                    context={"buckets": [spec.key for spec in ordered]},
                )
            self.sleep(wait)

    def record_usage(
        self, specs: Iterable[BucketSpec], usage: dict[str, Any], percent: float
    ) -> None:
        """Store what the platform reports about our usage; slow down above 80 %.

        Above `SLOW_DOWN_ABOVE_PERCENT` the buckets pause for a share of a
        minute that grows with the reported usage (a heuristic: Graph does
        not say how fast its usage decays), so workers back off *before*
        the platform throttles.
        """
        specs = list(specs)
        now = self.clock()
        _store_reported_usage(specs, usage)
        if percent >= SLOW_DOWN_ABOVE_PERCENT:
            pressure = min(1.0, (percent - SLOW_DOWN_ABOVE_PERCENT) / 20.0)
            self.block(specs, now + 60.0 * pressure, f"platform usage {percent:.0f}%")


def _store_reported_usage(specs: Sequence[BucketSpec], usage: dict[str, Any]) -> None:
    from platforms.models import RateLimitBucket

    keys = [spec.key for spec in specs]
    _ensure_buckets(specs)
    now = timezone.now()
    RateLimitBucket.objects.filter(key__in=keys).update(
        reported_usage=usage, reported_at=now, updated_at=now
    )


_known_keys: set[tuple[str, int, int]] = set()
_known_lock = threading.Lock()


def _ensure_buckets(specs: Iterable[BucketSpec]) -> None:
    """Create missing bucket rows and keep their limit in step with settings."""
    from platforms.models import RateLimitBucket

    for spec in specs:
        marker = (spec.key, spec.rate.limit, spec.rate.window)
        with _known_lock:
            if marker in _known_keys:
                continue
        defaults = {
            "platform": spec.platform,
            "endpoint_class": spec.endpoint_class,
            "account_id": spec.account_id,
            "limit": spec.rate.limit,
            "window_seconds": spec.rate.window,
        }
        try:
            bucket, created = RateLimitBucket.objects.get_or_create(
                key=spec.key, defaults=defaults
            )
        except IntegrityError:  # created by another worker just now
            bucket, created = RateLimitBucket.objects.get(key=spec.key), False
        if not created and (bucket.limit, bucket.window_seconds) != (
            spec.rate.limit,
            spec.rate.window,
        ):
            RateLimitBucket.objects.filter(key=spec.key).update(
                limit=spec.rate.limit,
                window_seconds=spec.rate.window,
                updated_at=timezone.now(),
            )
        with _known_lock:
            _known_keys.add(marker)


def forget_known_buckets() -> None:
    """Drop the cache of existing bucket rows (after the table was emptied)."""
    with _known_lock:
        _known_keys.clear()


class DatabaseLimiter(Limiter):
    """GCRA over `platforms.RateLimitBucket`, one conditional UPDATE per bucket."""

    #: Races lost to other workers before giving up on a multi-slot take.
    max_conflicts = 8

    def try_take_up_to(
        self, specs: Sequence[BucketSpec], n: int, now: float
    ) -> tuple[int, float]:
        from platforms.models import RateLimitBucket

        try:
            return self._try_take_up_to(specs, n, now)
        except RateLimitBucket.DoesNotExist:
            # The row vanished (tests flush tables); recreate and try again.
            forget_known_buckets()
            return self._try_take_up_to(specs, n, now)

    def _try_take_up_to(
        self, specs: Sequence[BucketSpec], n: int, now: float
    ) -> tuple[int, float]:
        from platforms.models import RateLimitBucket

        _ensure_buckets(specs)
        if n == 1:  # the common case needs no read: the UPDATE decides
            wait = self._take_exactly(specs, 1, now)
            return (1, 0.0) if wait is None else (0, wait)
        for _ in range(self.max_conflicts):
            tats = dict(
                RateLimitBucket.objects.filter(
                    key__in=[spec.key for spec in specs]
                ).values_list("key", "tat")
            )
            if len(tats) != len({spec.key for spec in specs}):
                raise RateLimitBucket.DoesNotExist
            granted = min(
                [n] + [spec.rate.free_slots(tats[spec.key], now) for spec in specs]
            )
            if granted < 1:
                return 0, max(
                    spec.rate.wait_for_slot(tats[spec.key], now) for spec in specs
                )
            if self._take_exactly(specs, granted, now) is None:
                return granted, 0.0
            # Another worker took slots between the read and the UPDATE.
        return 0, 1e-3

    def _take_exactly(
        self, specs: Sequence[BucketSpec], k: int, now: float
    ) -> float | None:
        """Take `k` slots from every bucket in one transaction, or none.

        Returns None when taken, else the refusing bucket's wait for a slot.
        """
        from platforms.models import RateLimitBucket

        with transaction.atomic():
            for spec in specs:
                rate = spec.rate
                limit = now + rate.tolerance - (k - 1) * rate.interval + _EPSILON
                # update() skips auto_now: set updated_at so the admin's
                # "Updated at" says when the bucket last granted a request.
                taken = RateLimitBucket.objects.filter(
                    Q(key=spec.key) & Q(tat__lte=limit)
                ).update(
                    tat=Greatest(F("tat"), Value(now)) + k * rate.interval,
                    updated_at=timezone.now(),
                )
                if taken:
                    continue
                tat = RateLimitBucket.objects.values_list("tat", flat=True).get(
                    key=spec.key
                )
                # Undo the buckets taken so far in this transaction.
                transaction.set_rollback(True)
                return rate.wait_for_slot(tat, now)
        return None

    def block(self, specs: Iterable[BucketSpec], until: float, reason: str) -> None:
        from platforms.models import RateLimitBucket

        specs = list(specs)
        _ensure_buckets(specs)
        blocked_until = datetime.fromtimestamp(until, UTC)
        with transaction.atomic():
            for spec in specs:
                # Pushing tat to until + tau makes the next slot open at `until`.
                RateLimitBucket.objects.filter(key=spec.key).update(
                    tat=Greatest(F("tat"), Value(until + spec.rate.tolerance)),
                    blocked_until=blocked_until,
                    blocked_reason=reason[:255],
                    updated_at=timezone.now(),
                )


# ARGV: now, n, then (interval, tau) per key. Returns {k, wait}: k slots
# taken from every key (k >= 1), or k = 0 and the seconds until one slot.
_LUA_TAKE = """
local now = tonumber(ARGV[1])
local k = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i + 1])
  local tau = tonumber(ARGV[2 * i + 2])
  local tat = tonumber(redis.call('GET', key) or '0')
  local start = math.max(tat, now)
  if start > now + tau + 1e-6 then
    k = 0
    wait = math.max(wait, tat - tau - now)
  else
    k = math.min(k, math.floor((now + tau - start) / interval + 1e-9) + 1)
  end
end
if k < 1 then
  return {0, tostring(math.max(wait, 1e-3))}
end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i + 1])
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), now)
  local ttl = math.ceil(tat + k * interval - now) + 1
  redis.call('SET', key, tostring(tat + k * interval), 'EX', ttl)
end
return {k, '0'}
"""

_LUA_BLOCK = """
for i, key in ipairs(KEYS) do
  local target = tonumber(ARGV[i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if target > tat then
    redis.call('SET', key, tostring(target), 'EX',
               math.ceil(target - tonumber(ARGV[1])) + 1)
  end
end
return 1
"""


class RedisLimiter(Limiter):
    """GCRA in Redis: one Lua script checks and takes every bucket atomically."""

    def __init__(self, url: str, *, prefix: str = "sm:rl:", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self._take = self.redis.register_script(_LUA_TAKE)
        self._block = self.redis.register_script(_LUA_BLOCK)

    def try_take_up_to(
        self, specs: Sequence[BucketSpec], n: int, now: float
    ) -> tuple[int, float]:
        # The state lives in Redis, but each bucket still gets its row (once
        # per process): the staff page and admin list buckets from the table.
        _ensure_buckets(specs)
        args: list[float] = [now, n]
        for spec in specs:
            args += [spec.rate.interval, spec.rate.tolerance]
        keys = [self.prefix + spec.key for spec in specs]
        granted, wait = self._take(keys=keys, args=args)
        return int(granted), float(wait)

    def live_tats(self, keys: Sequence[str]) -> dict[str, float]:
        if not keys:
            return {}
        values = self.redis.mget([self.prefix + key for key in keys])
        return {
            key: float(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    def block(self, specs: Iterable[BucketSpec], until: float, reason: str) -> None:
        specs = list(specs)
        keys = [self.prefix + spec.key for spec in specs]
        args = [self.clock()] + [until + spec.rate.tolerance for spec in specs]
        self._block(keys=keys, args=args)
        # Keep the reason visible on the admin's bucket rows as well. Only
        # blocks (and reported usage) reach the table: taken slots stay in
        # Redis, so the row's tat and updated_at do not follow them.
        from platforms.models import RateLimitBucket

        _ensure_buckets(specs)
        RateLimitBucket.objects.filter(key__in=[spec.key for spec in specs]).update(
            blocked_until=datetime.fromtimestamp(until, UTC),
            blocked_reason=reason[:255],
            updated_at=timezone.now(),
        )


@functools.cache
def status_limiter() -> Limiter:
    """The limiter the staff pages and admin read bucket state through: one
    per process, since a Redis client is a connection pool."""
    return get_limiter()


def get_limiter(**kwargs: Any) -> Limiter:
    """The configured shared limiter: Redis when `REDIS_URL` is set, else the DB."""
    url = getattr(settings, "REDIS_URL", "")
    if url:
        return RedisLimiter(url, **kwargs)
    return DatabaseLimiter(**kwargs)
