"""Reads for the staff pages: quota, rate limits, errors and API health.

Aggregation happens in SQL. Latency percentiles are picked by the database
too (ORDER BY latency with an OFFSET), which works the same on SQLite and
PostgreSQL and never loads a window of rows into Python.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from platforms.models import ApiCallLog, ErrorLog, QuotaUsage, RateLimitBucket
from platforms.quota import PACIFIC, next_reset, quota_day


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    row: QuotaUsage
    by_operation: list[tuple[str, int]]
    burn: list[tuple[dt.datetime, int]]  # cumulative units at the end of each hour
    runs_out_at: dt.datetime | None  # at the current pace; None if it lasts the day
    resets_at: dt.datetime
    #: The API call log rows behind `burn` and `by_operation`.
    first_call_at: dt.datetime | None = None
    last_call_at: dt.datetime | None = None


def quota_today(*, now: dt.datetime | None = None) -> list[QuotaStatus]:
    """Today's ledger rows with their split, burn-down and forecast."""
    now = now or timezone.now()
    today = quota_day(now, PACIFIC)
    day_start = dt.datetime.combine(today, dt.time(0), tzinfo=PACIFIC)
    statuses = []
    for row in QuotaUsage.objects.filter(day=today).order_by("platform", "project"):
        calls = ApiCallLog.objects.filter(
            platform=row.platform, created_at__gte=day_start, quota_cost__gt=0
        )
        by_operation = list(
            calls.values_list("endpoint")
            .annotate(units=Sum("quota_cost"))
            .order_by("-units")
        )
        hourly = (
            calls.annotate(hour=TruncHour("created_at"))
            .values("hour")
            .annotate(units=Sum("quota_cost"))
            .order_by("hour")
        )
        burn, total = [], 0
        for bucket in hourly:
            total += bucket["units"]
            burn.append((bucket["hour"], total))
        span = calls.aggregate(first=Min("created_at"), last=Max("created_at"))
        statuses.append(
            QuotaStatus(
                row=row,
                by_operation=by_operation,
                burn=burn,
                runs_out_at=_forecast(row, day_start, now),
                resets_at=next_reset(now, PACIFIC),
                first_call_at=span["first"],
                last_call_at=span["last"],
            )
        )
    return statuses


def _forecast(row: QuotaUsage, day_start: dt.datetime, now: dt.datetime):
    """When the quota runs out at the pace since the day's reset."""
    if row.exhausted_until and row.exhausted_until > now:
        return now
    elapsed = (now - day_start).total_seconds()
    if row.units_used == 0 or elapsed <= 0:
        return None
    per_second = row.units_used / elapsed
    remaining = row.limit - row.units_used
    runs_out = now + dt.timedelta(seconds=remaining / per_second)
    return runs_out if runs_out < next_reset(now, PACIFIC) else None


def quota_history(*, days: int = 30) -> QuerySet[QuotaUsage]:
    return QuotaUsage.objects.order_by("-day", "platform", "project")[: days * 3]


@dataclass(frozen=True, slots=True)
class BucketStatus:
    bucket: RateLimitBucket
    used: int
    percent: float
    blocked: bool


def rate_limit_status(*, now: dt.datetime | None = None) -> list[BucketStatus]:
    now = now or timezone.now()
    statuses = []
    for bucket in RateLimitBucket.objects.select_related("account"):
        used = math.ceil(bucket.used_now(now.timestamp()))
        statuses.append(
            BucketStatus(
                bucket=bucket,
                used=min(used, bucket.limit),
                percent=round(100 * used / bucket.limit, 1) if bucket.limit else 0.0,
                blocked=bool(bucket.blocked_until and bucket.blocked_until > now),
            )
        )
    return statuses


def errors_filtered(
    *,
    platform: str = "",
    error_class: str = "",
    account_id: int | None = None,
    code: str = "",
    since: dt.datetime | None = None,
    resolved: bool | None = False,
) -> QuerySet[ErrorLog]:
    rows = ErrorLog.objects.select_related("account", "item")
    if platform:
        rows = rows.filter(platform=platform)
    if error_class:
        rows = rows.filter(error_class=error_class)
    if account_id:
        rows = rows.filter(account_id=account_id)
    if code:
        rows = rows.filter(Q(code=code) | Q(reason=code) | Q(subcode=code))
    if since:
        rows = rows.filter(created_at__gte=since)
    if resolved is not None:
        rows = rows.filter(resolved=resolved)
    return rows.order_by("-created_at")


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    platform: str
    endpoint: str
    requests: int
    errors: int
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def _is_error() -> Q:
    return Q(status_code__gte=400) | Q(status_code__isnull=True) | ~Q(error_code="")


def api_health(*, since: dt.datetime) -> list[EndpointHealth]:
    calls = ApiCallLog.objects.filter(created_at__gte=since)
    grouped = (
        calls.values("platform", "endpoint")
        .annotate(requests=Count("pk"), errors=Count("pk", filter=_is_error()))
        .order_by("platform", "endpoint")
    )
    health = []
    for row in grouped:
        timed = calls.filter(
            platform=row["platform"], endpoint=row["endpoint"], latency_ms__isnull=False
        )
        count = timed.count()
        health.append(
            EndpointHealth(
                platform=row["platform"],
                endpoint=row["endpoint"],
                requests=row["requests"],
                errors=row["errors"],
                p50_ms=_percentile(timed, count, 0.50),
                p95_ms=_percentile(timed, count, 0.95),
                p99_ms=_percentile(timed, count, 0.99),
            )
        )
    return health


def _percentile(calls: QuerySet[ApiCallLog], count: int, fraction: float) -> int | None:
    """Nearest-rank percentile, selected by the database."""
    if count == 0:
        return None
    offset = max(0, math.ceil(fraction * count) - 1)
    return calls.order_by("latency_ms").values_list("latency_ms", flat=True)[offset]


def api_health_over_time(*, since: dt.datetime) -> list[dict]:
    """Requests and errors per platform per hour."""
    return list(
        ApiCallLog.objects.filter(created_at__gte=since)
        .annotate(hour=TruncHour("created_at"))
        .values("platform", "hour")
        .annotate(
            requests=Count("pk"),
            errors=Count("pk", filter=_is_error()),
            first=Min("created_at"),
            last=Max("created_at"),
        )
        .order_by("platform", "hour")
    )
