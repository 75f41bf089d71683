"""Reads for the dashboard: every aggregation happens in SQL.

Series come back as plain rows `(account_id, bucket, value)` sorted by
account and bucket, ready for `dashboard.charts`. A bucket with no stored
value is simply absent, so a chart shows a gap, never a 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Count,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    TruncDate,
    TruncHour,
    TruncMonth,
    TruncWeek,
)
from django.http import Http404

from platforms.models import (
    ConnectedAccount,
    ContentItem,
    DailyMetric,
    Distribution,
    MetricSnapshot,
)

Granularity = Literal["reading", "hour", "day", "week", "month"]


@dataclass(frozen=True, slots=True)
class Point:
    account_id: int
    bucket: dt.date | dt.datetime  # a datetime for hourly buckets
    value: float | int


def accounts_for_user(user: AbstractBaseUser) -> QuerySet[ConnectedAccount]:
    return ConnectedAccount.objects.filter(owner=user).exclude(
        status=ConnectedAccount.Status.DISCONNECTED
    )


def account_get_for_user(
    *, user: AbstractBaseUser, account_id: int
) -> ConnectedAccount:
    """The creator's own account, or 404 (never reveal that another exists)."""
    try:
        return ConnectedAccount.objects.get(pk=account_id, owner=user)
    except ConnectedAccount.DoesNotExist as exc:
        raise Http404("No such account") from exc


def item_get_for_user(*, user: AbstractBaseUser, item_id: int) -> ContentItem:
    try:
        return ContentItem.objects.select_related("account").get(
            pk=item_id, account__owner=user
        )
    except ContentItem.DoesNotExist as exc:
        raise Http404("No such item") from exc


def _numeric():
    """value_int or value_float as one float expression."""
    return Coalesce(Cast("value_int", FloatField()), F("value_float"))


def _bucket(field: str, granularity: Granularity, tz: ZoneInfo | None = None):
    if granularity == "hour" and tz is not None:
        return TruncHour(field, tzinfo=tz)
    if granularity == "week":
        return TruncWeek(field, tzinfo=tz) if tz else TruncWeek(field)
    if granularity == "month":
        return TruncMonth(field, tzinfo=tz) if tz else TruncMonth(field)
    return TruncDate(field, tzinfo=tz) if tz else F(field)


def _as_date(value: dt.date | dt.datetime, granularity: str = "day"):
    if granularity == "hour":
        return value
    return value.date() if isinstance(value, dt.datetime) else value


def _per_day(granularity: Granularity) -> Granularity:
    """Per-day values cannot be cut finer than a day."""
    return "day" if granularity in ("hour", "reading") else granularity


def daily_series(
    *,
    account_ids: list[int],
    metric: str,
    start: dt.date,
    end: dt.date,
    granularity: Granularity = "day",
    item_id: int | None = None,
) -> list[Point]:
    """Per-day values summed per bucket.

    Account level by default; with `item_id`, that item's own days. For
    `account level` metrics missing at account level, use `item_daily_totals`.
    """
    rows = DailyMetric.objects.filter(
        account_id__in=account_ids, metric=metric, day__range=(start, end)
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    rows = rows.filter(item_id=item_id) if item_id else rows.filter(item__isnull=True)
    return _points(rows, _bucket("day", _per_day(granularity)), Sum(_numeric()))


def item_daily_totals(
    *,
    account_ids: list[int],
    metric: str,
    start: dt.date,
    end: dt.date,
    granularity: Granularity = "day",
) -> list[Point]:
    """The sum over an account's items of their per-day values."""
    rows = DailyMetric.objects.filter(
        account_id__in=account_ids,
        metric=metric,
        day__range=(start, end),
        item__isnull=False,
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    return _points(rows, _bucket("day", _per_day(granularity)), Sum(_numeric()))


def snapshot_series(
    *,
    account_ids: list[int],
    metric: str,
    start: dt.date,
    end: dt.date,
    tz: ZoneInfo,
    granularity: Granularity = "day",
    item_id: int | None = None,
) -> list[Point]:
    """Counters over time: the highest value seen in each bucket.

    Counters such as views only grow, so the bucket's maximum is its last
    reading; buckets are cut in the creator's time zone.
    """
    rows = MetricSnapshot.objects.filter(
        account_id__in=account_ids,
        metric=metric,
        fetched_at__date__range=(
            start - dt.timedelta(days=1),
            end + dt.timedelta(days=1),
        ),
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    rows = rows.filter(item_id=item_id) if item_id else rows.filter(item__isnull=True)
    if granularity == "reading":
        # Every reading as it was taken: no bucket, no aggregate.
        points = [
            Point(row["account_id"], row["fetched_at"].astimezone(tz), _tidy(row["v"]))
            for row in rows.annotate(v=_numeric())
            .values("account_id", "fetched_at", "v")
            .order_by("account_id", "fetched_at")
        ]
    else:
        bucket = _bucket("fetched_at", granularity, tz)
        points = _points(rows, bucket, Max(_numeric()), granularity)

    def day_of(bucket: dt.date | dt.datetime) -> dt.date:
        return (
            bucket.astimezone(tz).date() if isinstance(bucket, dt.datetime) else bucket
        )

    return [p for p in points if start <= day_of(p.bucket) <= end]


def _points(rows: QuerySet, bucket, aggregate, granularity: str = "day") -> list[Point]:
    grouped = (
        rows.annotate(bucket=bucket)
        .values("account_id", "bucket")
        .annotate(value=aggregate)
        .order_by("account_id", "bucket")
    )
    return [
        Point(
            row["account_id"], _as_date(row["bucket"], granularity), _tidy(row["value"])
        )
        for row in grouped
        if row["value"] is not None
    ]


def _tidy(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 4)


def _newest_only(rows: QuerySet, key: str) -> QuerySet:
    """Rows that are the newest reading of their (key, metric)."""
    newest = (
        MetricSnapshot.objects.filter(
            **{key: OuterRef(key), "metric": OuterRef("metric")}
        )
        .exclude(value_int__isnull=True, value_float__isnull=True)
        .order_by("-fetched_at")
        .values("fetched_at")[:1]
    )
    return rows.filter(fetched_at=Subquery(newest))


def latest_snapshot_values(
    *, account_ids: list[int], metric: str, item_ids: list[int] | None = None
) -> dict[int, float | int]:
    """The newest stored value per account (or per item), in one query."""
    key = "item_id" if item_ids is not None else "account_id"
    rows = MetricSnapshot.objects.filter(metric=metric).exclude(
        value_int__isnull=True, value_float__isnull=True
    )
    if item_ids is not None:
        rows = rows.filter(item_id__in=item_ids)
    else:
        rows = rows.filter(account_id__in=account_ids, item__isnull=True)
    return {
        row[key]: _tidy(row["value"])
        for row in _newest_only(rows, key)
        .annotate(value=_numeric())
        .values(key, "value")
    }


def latest_item_totals(
    *, account_ids: list[int], metrics: list[str]
) -> dict[tuple[int, str], float | int]:
    """Per (account, metric): the sum of each item's newest counter."""
    rows = MetricSnapshot.objects.filter(
        account_id__in=account_ids, metric__in=metrics, item__isnull=False
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    grouped = (
        _newest_only(rows, "item_id")
        .values("account_id", "metric")
        .annotate(total=Sum(_numeric()))
    )
    return {
        (row["account_id"], row["metric"]): _tidy(row["total"])
        for row in grouped
        if row["total"] is not None
    }


def counter_at(
    *, account_ids: list[int], metric: str, at: dt.datetime
) -> dict[int, float | int]:
    """Each account's newest account-level counter at or before `at`."""
    rows = MetricSnapshot.objects.filter(
        account_id__in=account_ids, metric=metric, item__isnull=True, fetched_at__lte=at
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    newest = (
        MetricSnapshot.objects.filter(
            account_id=OuterRef("account_id"),
            metric=metric,
            item__isnull=True,
            fetched_at__lte=at,
        )
        .exclude(value_int__isnull=True, value_float__isnull=True)
        .order_by("-fetched_at")
        .values("fetched_at")[:1]
    )
    return {
        row["account_id"]: _tidy(row["value"])
        for row in rows.filter(fetched_at=Subquery(newest))
        .annotate(value=_numeric())
        .values("account_id", "value")
    }


def items_published_count(
    *, account_ids: list[int], start: dt.datetime, end: dt.datetime
) -> dict[int, int]:
    rows = (
        ContentItem.objects.filter(
            account_id__in=account_ids, published_at__range=(start, end)
        )
        .values("account_id")
        .annotate(n=Count("pk"))
    )
    return {row["account_id"]: row["n"] for row in rows}


def daily_totals_by_account(
    *, account_ids: list[int], metrics: list[str], start: dt.date, end: dt.date
) -> dict[tuple[int, str], float | int]:
    """Sum of per-day item values per (account, metric) over a period."""
    rows = (
        DailyMetric.objects.filter(
            account_id__in=account_ids,
            metric__in=metrics,
            day__range=(start, end),
            item__isnull=False,
        )
        .values("account_id", "metric")
        .annotate(total=Sum(_numeric()))
    )
    return {
        (row["account_id"], row["metric"]): _tidy(row["total"])
        for row in rows
        if row["total"] is not None
    }


def latest_distribution(
    *, account_id: int, kind: str, item_id: int | None = None
) -> Distribution | None:
    rows = Distribution.objects.filter(account_id=account_id, kind=kind)
    rows = rows.filter(item_id=item_id) if item_id else rows.filter(item__isnull=True)
    return rows.order_by("-day").first()


def items_published_per_bucket(
    *,
    account_id: int,
    start: dt.datetime,
    end: dt.datetime,
    granularity: Granularity,
    tz: ZoneInfo,
) -> dict[dt.date, int]:
    rows = (
        ContentItem.objects.filter(
            account_id=account_id, published_at__range=(start, end)
        )
        .annotate(
            bucket=_bucket("published_at", granularity, tz)
            if granularity not in ("day", "reading")
            else TruncDate("published_at", tzinfo=tz)
        )
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by("bucket")
    )
    cut = "day" if granularity == "reading" else granularity
    return {_as_date(row["bucket"], cut): row["n"] for row in rows}


def follower_history_estimate(
    *, account_ids: list[int], start: dt.date, end: dt.date, tz: ZoneInfo
) -> list[Point]:
    """Followers on days before the first reading, from the daily gains.

    YouTube (subscribersGained - subscribersLost) and Instagram (new
    followers per day) give per-day changes for months back; walking them
    backwards from the oldest follower count stored gives the history an
    account had before it was connected. Estimated, and labelled so.
    """
    first = (
        MetricSnapshot.objects.filter(
            account_id__in=account_ids, metric="follower_count", item__isnull=True
        )
        .exclude(value_int__isnull=True, value_float__isnull=True)
        .values("account_id")
        .annotate(at=Min("fetched_at"))
    )
    anchors = {row["account_id"]: row["at"] for row in first}
    if not anchors:
        return []
    changes = (
        DailyMetric.objects.filter(
            account_id__in=list(anchors),
            item__isnull=True,
            metric__in=["follower_gain", "follower_loss"],
            day__gte=start,
        )
        .values("account_id", "day", "metric")
        .annotate(total=Sum(_numeric()))
        .order_by("account_id", "-day")
    )
    net: dict[int, dict[dt.date, float]] = {}
    for row in changes:
        sign = -1 if row["metric"] == "follower_loss" else 1
        days = net.setdefault(row["account_id"], {})
        days[row["day"]] = days.get(row["day"], 0) + sign * (row["total"] or 0)
    points = []
    for account_id, anchor_at in anchors.items():
        anchor_day = anchor_at.astimezone(tz).date()
        count = _first_value(account_id, anchor_at)
        if count is None or account_id not in net:
            continue
        # followers at the end of day d = followers at the anchor minus what
        # was gained after d and up to the anchor.
        day = anchor_day - dt.timedelta(days=1)
        running = count - net[account_id].get(anchor_day, 0)
        while day >= start:
            if start <= day <= end:
                points.append(Point(account_id, day, _tidy(running)))
            running -= net[account_id].get(day, 0)
            day -= dt.timedelta(days=1)
    return sorted(points, key=lambda p: (p.account_id, p.bucket))


def _first_value(account_id: int, at: dt.datetime) -> float | None:
    row = (
        MetricSnapshot.objects.filter(
            account_id=account_id,
            metric="follower_count",
            item__isnull=True,
            fetched_at=at,
        )
        .annotate(v=_numeric())
        .values_list("v", flat=True)
        .first()
    )
    return row
