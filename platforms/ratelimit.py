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

A wait of up to `max_inline_wait` seconds is slept inline; a longer one
raises `PlatformRateLimitError(retry_after=...)` so the job is re-queued.
"""

from __future__ import annotations

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

from platforms.exceptions import PlatformRateLimitError, error_class_for

logger = logging.getLogger("platforms.ratelimit")

SAFETY = 0.97
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
    },
}

# Endpoint → (endpoint class, per account?) for every window that applies.
ENDPOINT_CLASSES: dict[str, tuple[tuple[str, bool], ...]] = {
    "tiktok.user.info": (("user_info", False), ("user_metrics", True)),
    "tiktok.video.list": (("video_list", False), ("video_metrics", True)),
    "tiktok.video.query": (("video_query", False), ("video_metrics", True)),
    "tiktok.business.get": (("analytics", True),),
    "tiktok.business.video.list": (("analytics", True),),
    "graph.ig_user": (("user_profile", True),),
    "graph.ig_user.insights": (("user_profile", True),),
    "graph.ig_media": (("media_metrics", True),),
    "graph.ig_stories": (("story_metrics", True),),
    "graph.media.insights": (("media_metrics", True),),
    "graph.story.insights": (("story_metrics", True),),
    "graph.business_discovery": (("business_discovery", True),),
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
        raise NotImplementedError

    def block(self, specs: Iterable[BucketSpec], until: float, reason: str) -> None:
        """Make every bucket refuse requests until `until` (Unix seconds)."""
        raise NotImplementedError

    def acquire(self, specs: Sequence[BucketSpec], *, platform: str = "") -> None:
        """Take a slot from every bucket, sleeping short waits inline.

        Raises the platform's `PlatformRateLimitError` subclass with
        `retry_after` when the wait is longer than `max_inline_wait`.
        """
        if not specs:
            return
        ordered = sorted(specs, key=lambda spec: spec.key)
        while True:
            wait = self.try_take(ordered, self.clock())
            if wait <= 0:
                return
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
    RateLimitBucket.objects.filter(key__in=keys).update(
        reported_usage=usage, reported_at=datetime.now(UTC)
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
                limit=spec.rate.limit, window_seconds=spec.rate.window
            )
        with _known_lock:
            _known_keys.add(marker)


def forget_known_buckets() -> None:
    """Drop the cache of existing bucket rows (after the table was emptied)."""
    with _known_lock:
        _known_keys.clear()


class DatabaseLimiter(Limiter):
    """GCRA over `platforms.RateLimitBucket`, one conditional UPDATE per bucket."""

    def try_take(self, specs: Sequence[BucketSpec], now: float) -> float:
        from platforms.models import RateLimitBucket

        try:
            return self._try_take(specs, now)
        except RateLimitBucket.DoesNotExist:
            # The row vanished (tests flush tables); recreate and try again.
            forget_known_buckets()
            return self._try_take(specs, now)

    def _try_take(self, specs: Sequence[BucketSpec], now: float) -> float:
        from platforms.models import RateLimitBucket

        _ensure_buckets(specs)
        with transaction.atomic():
            for spec in specs:
                rate = spec.rate
                taken = RateLimitBucket.objects.filter(
                    Q(key=spec.key) & Q(tat__lte=now + rate.tolerance)
                ).update(tat=Greatest(F("tat"), Value(now)) + rate.interval)
                if taken:
                    continue
                tat = RateLimitBucket.objects.values_list("tat", flat=True).get(
                    key=spec.key
                )
                # Undo the buckets taken so far in this transaction.
                transaction.set_rollback(True)
                return max(tat - rate.tolerance - now, 1e-3)
        return 0.0

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
                )


_LUA_TAKE = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local tau = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat > now + tau then
    return tostring(tat - tau - now)
  end
end
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local ttl = math.ceil(tat + interval - now) + 1
  redis.call('SET', key, tostring(tat + interval), 'EX', ttl)
end
return '0'
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

    def try_take(self, specs: Sequence[BucketSpec], now: float) -> float:
        args: list[float] = [now]
        for spec in specs:
            args += [spec.rate.interval, spec.rate.tolerance]
        keys = [self.prefix + spec.key for spec in specs]
        return float(self._take(keys=keys, args=args))

    def block(self, specs: Iterable[BucketSpec], until: float, reason: str) -> None:
        specs = list(specs)
        keys = [self.prefix + spec.key for spec in specs]
        args = [self.clock()] + [until + spec.rate.tolerance for spec in specs]
        self._block(keys=keys, args=args)
        # Keep the reason visible on the admin's bucket rows as well.
        from platforms.models import RateLimitBucket

        _ensure_buckets(specs)
        RateLimitBucket.objects.filter(key__in=[spec.key for spec in specs]).update(
            blocked_until=datetime.fromtimestamp(until, UTC),
            blocked_reason=reason[:255],
        )


def get_limiter(**kwargs: Any) -> Limiter:
    """The configured shared limiter: Redis when `REDIS_URL` is set, else the DB."""
    url = getattr(settings, "REDIS_URL", "")
    if url:
        return RedisLimiter(url, **kwargs)
    return DatabaseLimiter(**kwargs)
