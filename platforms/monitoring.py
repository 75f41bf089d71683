"""Reads for the staff pages: quota, rate limits, errors and API health.

Aggregation happens in SQL. Latency percentiles are picked by the database
too: PostgreSQL's PERCENTILE_DISC, and on SQLite (which has no percentile
aggregate) window functions ranking each group's calls; both give the
nearest-rank percentile, and no call row is loaded into Python.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncHour
from django.utils import timezone

from platforms.models import ApiCallLog, ErrorLog, QuotaUsage, RateLimitBucket
from platforms.quota import PACIFIC, next_reset, quota_day
from platforms.ratelimit import Limiter, status_limiter


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    row: QuotaUsage
    by_operation: list[tuple[str, int]]
    burn: list[tuple[dt.datetime, int]]  # cumulative units at the end of each hour
    runs_out_at: dt.datetime | None  # at the current pace; None if it lasts the day
    resets_at: dt.datetime
    #: The quota day's start (the last reset), and now: the forecast's base.
    day_start: dt.datetime | None = None
    now: dt.datetime | None = None
    #: Units used by the reset if the day goes on at its pace so far.
    pace_at_reset: int | None = None
    #: The API call log rows behind `burn` and `by_operation`.
    first_call_at: dt.datetime | None = None
    last_call_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class _CallSplit:
    by_operation: list[tuple[str, int]]
    burn: list[tuple[dt.datetime, int]]
    first: dt.datetime | None
    last: dt.datetime | None


def _call_split(platform: str, project: str, day_start: dt.datetime) -> _CallSplit:
    calls = ApiCallLog.objects.filter(
        platform=platform,
        project=project,
        created_at__gte=day_start,
        quota_cost__gt=0,
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
    span = calls.aggregate(first=Min("created_at"), last=Max("created_at"))
    # From zero at the reset, then the running total at the end of each hour
    # (the current hour's at its last call): a burn-down reads left to right.
    burn, total = [(day_start, 0)], 0
    for bucket in hourly:
        total += bucket["units"]
        hour_end = bucket["hour"] + dt.timedelta(hours=1)
        burn.append((min(hour_end, span["last"] or hour_end), total))
    return _CallSplit(by_operation, burn, span["first"], span["last"])


def quota_today(*, now: dt.datetime | None = None) -> list[QuotaStatus]:
    """Today's ledger rows (one per platform project) with their split,
    burn-down and forecast."""
    now = now or timezone.now()
    today = quota_day(now, PACIFIC)
    day_start = dt.datetime.combine(today, dt.time(0), tzinfo=PACIFIC)
    rows = list(QuotaUsage.objects.filter(day=today).order_by("platform", "project"))
    statuses = []
    for row in rows:
        split = _call_split(row.platform, row.project, day_start)
        statuses.append(
            QuotaStatus(
                row=row,
                by_operation=split.by_operation,
                burn=split.burn,
                runs_out_at=_forecast(row, day_start, now),
                resets_at=next_reset(now, PACIFIC),
                first_call_at=split.first,
                last_call_at=split.last,
                day_start=day_start,
                now=now,
                pace_at_reset=_pace_at_reset(row, day_start, now),
            )
        )
    return statuses


def _pace(row: QuotaUsage, day_start: dt.datetime, now: dt.datetime) -> float | None:
    """Units per second since the day's reset; None before any were used."""
    elapsed = (now - day_start).total_seconds()
    if row.units_used == 0 or elapsed <= 0:
        return None
    return row.units_used / elapsed


def _pace_at_reset(row: QuotaUsage, day_start: dt.datetime, now: dt.datetime):
    per_second = _pace(row, day_start, now)
    if per_second is None:
        return None
    return round(per_second * (next_reset(now, PACIFIC) - day_start).total_seconds())


def _forecast(row: QuotaUsage, day_start: dt.datetime, now: dt.datetime):
    """When the quota runs out at the pace since the day's reset."""
    if row.exhausted_until and row.exhausted_until > now:
        return now
    per_second = _pace(row, day_start, now)
    if per_second is None:
        return None
    remaining = row.limit - row.units_used
    runs_out = now + dt.timedelta(seconds=remaining / per_second)
    return runs_out if runs_out < next_reset(now, PACIFIC) else None


def quota_history(
    *, days: int = 30, now: dt.datetime | None = None
) -> QuerySet[QuotaUsage]:
    """Every project's ledger row of the `days` quota days before today, newest
    first. Today's rows are `quota_today`'s; the current quota day is the
    Pacific one, which at 06:00 UTC is still yesterday's UTC date."""
    today = quota_day(now or timezone.now(), PACIFIC)
    return QuotaUsage.objects.filter(
        day__lt=today, day__gte=today - dt.timedelta(days=days)
    ).order_by("-day", "platform", "project")


@dataclass(frozen=True, slots=True)
class BucketStatus:
    bucket: RateLimitBucket
    used: int
    percent: float
    blocked: bool
    #: The platform's own usage report in words, one line per figure set.
    reported: list[str]


_USAGE_FIGURES = (
    ("call_count", "calls"),
    ("total_cputime", "CPU time"),
    ("total_time", "total time"),
)


def _usage_words(figures: dict[str, Any]) -> str:
    parts = [
        f"{label} {figures[key]:g} %"
        for key, label in _USAGE_FIGURES
        if isinstance(figures.get(key), int | float)
    ]
    regain = figures.get("estimated_time_to_regain_access")
    if isinstance(regain, int | float) and regain > 0:
        parts.append(f"access back in {regain:g} min")
    return ", ".join(parts) or "no figures"


def reported_usage_lines(usage: dict[str, Any] | None) -> list[str]:
    """Graph's usage headers (PLATFORM_APIS 3.8) as sentences for staff.

    `X-App-Usage` is one object for the whole app; `X-Business-Use-Case-Usage`
    maps each business id to a list of figure sets, one per use case. Each
    figure is a percent of that limit.
    """
    if not isinstance(usage, dict):
        return []
    lines = []
    app = usage.get("x-app-usage")
    if isinstance(app, dict):
        lines.append(f"App: {_usage_words(app)}")
    business = usage.get("x-business-use-case-usage")
    if isinstance(business, dict):
        for business_id, entries in business.items():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    kind = entry.get("type") or "use case"
                    lines.append(
                        f"Business {business_id} ({kind}): {_usage_words(entry)}"
                    )
    return lines


def bucket_usage(bucket: RateLimitBucket, now_ts: float) -> tuple[int, float]:
    """Slots taken now and the percent of the limit, as staff pages show them.

    A partly drained slot is still taken (rounded up). GCRA lets `tat` run a
    request past the window, so the count can exceed the limit by one; both
    numbers stop at the limit so "used / limit" and the percent agree.
    """
    if not bucket.limit:
        return 0, 0.0
    used = min(math.ceil(bucket.used_now(now_ts)), bucket.limit)
    return used, round(100 * used / bucket.limit, 1)


def rate_limit_status(
    *, now: dt.datetime | None = None, limiter: Limiter | None = None
) -> list[BucketStatus]:
    """Every bucket's slots taken now, from wherever the limiter keeps them."""
    now = now or timezone.now()
    buckets = list(RateLimitBucket.objects.select_related("account"))
    live = (limiter or status_limiter()).live_tats([b.key for b in buckets])
    statuses = []
    for bucket in buckets:
        if bucket.key in live:
            bucket.tat = live[bucket.key]
        used, percent = bucket_usage(bucket, now.timestamp())
        statuses.append(
            BucketStatus(
                bucket=bucket,
                used=used,
                percent=percent,
                blocked=bool(bucket.blocked_until and bucket.blocked_until > now),
                reported=reported_usage_lines(bucket.reported_usage),
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


@dataclass(frozen=True, slots=True)
class HealthBucket:
    """One platform's calls in one hour."""

    platform: str
    hour: dt.datetime
    requests: int
    errors: int
    p50_ms: int | None
    p95_ms: int | None
    first_at: dt.datetime
    last_at: dt.datetime

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


PERCENTS = (50, 95, 99)


def _is_error() -> Q:
    return Q(status_code__gte=400) | Q(status_code__isnull=True) | ~Q(error_code="")


class PercentileDisc(Aggregate):
    """PostgreSQL's ordered-set aggregate: the nearest-rank percentile.

    percentile_disc, not percentile_cont: it returns a latency that was
    measured (the smallest with at least p of the calls at or below it),
    the same definition the SQLite query below computes, so the pages read
    the same on both databases.
    """

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = IntegerField()
    allow_distinct = False


def _percentiles(
    calls: QuerySet[ApiCallLog], keys: list[str], **annotations
) -> dict[tuple, tuple[int | None, ...]]:
    """Nearest-rank p50/p95/p99 latency per group of `keys`, in the database.

    PostgreSQL has ordered-set aggregates. SQLite has none, so there the
    calls of each group are ranked with window functions (ROW_NUMBER and
    COUNT over the group) and each percentile is the lowest latency whose
    rank reaches ceil(p·n); the rows never leave the database, only one row
    per group does. Both are bounded by the window the page asks for (at
    most 7 days of calls), which an index on created_at selects.
    """
    timed = calls.filter(latency_ms__isnull=False).annotate(**annotations)
    if connection.vendor == "postgresql":
        grouped = (
            timed.values(*keys)
            .annotate(
                **{
                    f"p{p}": PercentileDisc("latency_ms", fraction=p / 100)
                    for p in PERCENTS
                }
            )
            .order_by()
        )
        return {
            tuple(row[k] for k in keys): tuple(row[f"p{p}"] for p in PERCENTS)
            for row in grouped
        }
    q = connection.ops.quote_name
    partition = ", ".join(f"r.{q(k)}" for k in keys)
    inner_sql, params = (
        timed.values(*keys, "latency_ms").order_by().query.sql_with_params()
    )
    # rank·100 >= p·n in integers: exactly ceil(p·n/100) <= rank.
    picks = ", ".join(
        f"MIN(CASE WHEN t.rn * 100 >= {p} * t.n THEN t.{q('latency_ms')} END)"
        for p in PERCENTS
    )
    columns = ", ".join(f"t.{q(k)}" for k in keys)
    sql = f"""
        SELECT {columns}, {picks}
        FROM (
            SELECT r.*,
                   ROW_NUMBER() OVER (
                       PARTITION BY {partition} ORDER BY r.{q("latency_ms")}
                   ) AS rn,
                   COUNT(*) OVER (PARTITION BY {partition}) AS n
            FROM ({inner_sql}) r
        ) t
        GROUP BY {columns}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    width = len(keys)
    return {tuple(row[:width]): tuple(row[width:]) for row in found}


def _hour_key(value) -> dt.datetime:
    """TruncHour as the ORM (aware) or SQLite's raw cursor (UTC text) gives it."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def api_health(*, since: dt.datetime) -> list[EndpointHealth]:
    """Requests, error rate and latency percentiles per platform endpoint."""
    calls = ApiCallLog.objects.filter(created_at__gte=since)
    grouped = (
        calls.values("platform", "endpoint")
        .annotate(requests=Count("pk"), errors=Count("pk", filter=_is_error()))
        .order_by("platform", "endpoint")
    )
    latency = _percentiles(calls, ["platform", "endpoint"])
    health = []
    for row in grouped:
        p50, p95, p99 = latency.get((row["platform"], row["endpoint"]), (None,) * 3)
        health.append(
            EndpointHealth(
                platform=row["platform"],
                endpoint=row["endpoint"],
                requests=row["requests"],
                errors=row["errors"],
                p50_ms=p50,
                p95_ms=p95,
                p99_ms=p99,
            )
        )
    return health


def api_health_over_time(
    *, since: dt.datetime, endpoint: str = ""
) -> list[HealthBucket]:
    """Per platform per hour: requests, error rate and p50/p95 latency.

    With `endpoint` ("platform:endpoint"), that endpoint's calls only.
    """
    calls = ApiCallLog.objects.filter(created_at__gte=since)
    if endpoint:
        platform, _, name = endpoint.partition(":")
        calls = calls.filter(platform=platform, endpoint=name)
    hour = TruncHour("created_at", tzinfo=dt.UTC)
    counted = (
        calls.annotate(hour=hour)
        .values("platform", "hour")
        .annotate(
            requests=Count("pk"),
            errors=Count("pk", filter=_is_error()),
            first=Min("created_at"),
            last=Max("created_at"),
        )
        .order_by("platform", "hour")
    )
    latency = {
        (platform, _hour_key(at)): values
        for (platform, at), values in _percentiles(
            calls, ["platform", "hour"], hour=hour
        ).items()
    }
    out = []
    for row in counted:
        p50, p95, _ = latency.get((row["platform"], row["hour"]), (None,) * 3)
        out.append(
            HealthBucket(
                platform=row["platform"],
                hour=row["hour"],
                requests=row["requests"],
                errors=row["errors"],
                p50_ms=p50,
                p95_ms=p95,
                first_at=row["first"],
                last_at=row["last"],
            )
        )
    return out
