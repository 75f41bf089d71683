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
    IntegerField,
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
    #: Any stored value behind this point is flagged estimated.
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a chart's values came from, read from the stored rows.

    `sources` are the distinct `source` endpoints of the values, the fetched
    range is their MIN/MAX(fetched_at), and `estimated` is set when any of
    them is flagged estimated. `derived` says how plotted values were
    computed from stored ones ("" when they are plotted as stored).
    """

    sources: tuple[str, ...] = ()
    first_fetched: dt.datetime | None = None
    last_fetched: dt.datetime | None = None
    estimated: bool = False
    derived: str = ""

    def merged(self, *others: Provenance) -> Provenance:
        """One provenance for a chart drawn from several series."""
        parts = [self, *others]
        firsts = [p.first_fetched for p in parts if p.first_fetched]
        lasts = [p.last_fetched for p in parts if p.last_fetched]
        derived = [p.derived for p in parts if p.derived]
        return Provenance(
            sources=tuple(sorted({s for p in parts for s in p.sources})),
            first_fetched=min(firsts) if firsts else None,
            last_fetched=max(lasts) if lasts else None,
            estimated=any(p.estimated for p in parts),
            derived="; ".join(dict.fromkeys(derived)),
        )


@dataclass(frozen=True, slots=True)
class Series:
    """Chart rows plus where they came from."""

    points: list[Point]
    provenance: Provenance

    def __bool__(self) -> bool:
        return bool(self.points)


def _flag():
    """The `estimated` column as 0/1, so MAX() says whether any row is."""
    return Max(Cast("estimated", IntegerField()))


def _provenance(rows: QuerySet, *, derived: str = "") -> Provenance:
    """Distinct sources and the fetched range of `rows`, in one query."""
    grouped = (
        rows.order_by()
        .values("source")
        .annotate(first=Min("fetched_at"), last=Max("fetched_at"), flag=_flag())
    )
    found = list(grouped)
    if not found:
        return Provenance(derived=derived)
    return Provenance(
        sources=tuple(sorted(row["source"] for row in found)),
        first_fetched=min(row["first"] for row in found),
        last_fetched=max(row["last"] for row in found),
        estimated=any(row["flag"] for row in found),
        derived=derived,
    )


def _moments(start: dt.date, end: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, ...]:
    """[start 00:00, the day after end 00:00) in the creator's time zone."""
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


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
) -> Series:
    """Per-day values summed per bucket.

    Account level by default; with `item_id`, that item's own days. For
    `account level` metrics missing at account level, use `item_daily_totals`.
    """
    rows = DailyMetric.objects.filter(
        account_id__in=account_ids, metric=metric, day__range=(start, end)
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    rows = rows.filter(item_id=item_id) if item_id else rows.filter(item__isnull=True)
    return Series(
        _points(rows, _bucket("day", _per_day(granularity)), Sum(_numeric())),
        _provenance(rows),
    )


def item_daily_totals(
    *,
    account_ids: list[int],
    metric: str,
    start: dt.date,
    end: dt.date,
    granularity: Granularity = "day",
) -> Series:
    """The sum over an account's items of their per-day values."""
    rows = DailyMetric.objects.filter(
        account_id__in=account_ids,
        metric=metric,
        day__range=(start, end),
        item__isnull=False,
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    return Series(
        _points(rows, _bucket("day", _per_day(granularity)), Sum(_numeric())),
        _provenance(rows),
    )


def snapshot_series(
    *,
    account_ids: list[int],
    metric: str,
    start: dt.date,
    end: dt.date,
    tz: ZoneInfo,
    granularity: Granularity = "day",
    item_id: int | None = None,
) -> Series:
    """Counters over time: the highest value seen in each bucket.

    Counters such as views only grow, so the bucket's maximum is its last
    reading; buckets are cut in the creator's time zone.
    """
    first, after = _moments(start, end, tz)
    rows = MetricSnapshot.objects.filter(
        account_id__in=account_ids,
        metric=metric,
        fetched_at__gte=first,
        fetched_at__lt=after,
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    rows = rows.filter(item_id=item_id) if item_id else rows.filter(item__isnull=True)
    if granularity == "reading":
        # Every reading as it was taken: no bucket, no aggregate.
        points = [
            Point(
                row["account_id"],
                row["fetched_at"].astimezone(tz),
                _tidy(row["v"]),
                row["estimated"],
            )
            for row in rows.annotate(v=_numeric())
            .values("account_id", "fetched_at", "v", "estimated")
            .order_by("account_id", "fetched_at")
        ]
    else:
        bucket = _bucket("fetched_at", granularity, tz)
        points = _points(rows, bucket, Max(_numeric()), granularity)
    return Series(points, _provenance(rows))


def _points(rows: QuerySet, bucket, aggregate, granularity: str = "day") -> list[Point]:
    grouped = (
        rows.annotate(bucket=bucket)
        .values("account_id", "bucket")
        .annotate(value=aggregate, flag=_flag())
        .order_by("account_id", "bucket")
    )
    return [
        Point(
            row["account_id"],
            _as_date(row["bucket"], granularity),
            _tidy(row["value"]),
            bool(row["flag"]),
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
) -> tuple[dict[dt.date, int], Provenance]:
    """Items published per bucket, and when those items were last listed."""
    items = ContentItem.objects.filter(
        account_id=account_id, published_at__range=(start, end)
    )
    rows = (
        items.annotate(
            bucket=_bucket("published_at", granularity, tz)
            if granularity not in ("day", "reading")
            else TruncDate("published_at", tzinfo=tz)
        )
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by("bucket")
    )
    cut = "day" if granularity == "reading" else granularity
    counts = {_as_date(row["bucket"], cut): row["n"] for row in rows}
    # Items keep no endpoint of their own: published_at is what the content
    # listing said when the item was last seen in it.
    seen = items.aggregate(first=Min("last_seen_at"), last=Max("last_seen_at"))
    provenance = Provenance(
        sources=("content listing (published_at)",) if counts else (),
        first_fetched=seen["first"],
        last_fetched=seen["last"],
    )
    return counts, provenance


def follower_history_estimate(
    *, account_ids: list[int], start: dt.date, end: dt.date, tz: ZoneInfo
) -> Series:
    """Followers on days before the first reading, from the daily gains.

    YouTube (subscribersGained - subscribersLost) and Instagram (new
    followers per day) give per-day changes for months back; walking them
    backwards from the oldest follower count stored gives the history an
    account had before it was connected. Estimated, and labelled so.
    """
    readings = MetricSnapshot.objects.filter(
        account_id__in=account_ids, metric="follower_count", item__isnull=True
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    oldest = (
        MetricSnapshot.objects.filter(
            account_id=OuterRef("account_id"), metric="follower_count", item=None
        )
        .exclude(value_int__isnull=True, value_float__isnull=True)
        .order_by("fetched_at")
        .values("fetched_at")[:1]
    )
    anchors = {
        row["account_id"]: (row["fetched_at"], row["v"])
        for row in readings.filter(fetched_at=Subquery(oldest))
        .annotate(v=_numeric())
        .values("account_id", "fetched_at", "v")
    }
    if not anchors:
        return Series([], Provenance())
    gains = DailyMetric.objects.filter(
        account_id__in=list(anchors),
        item__isnull=True,
        metric__in=["follower_gain", "follower_loss"],
        day__gte=start,
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    changes = (
        gains.values("account_id", "day", "metric")
        .annotate(total=Sum(_numeric()))
        .order_by("account_id", "-day")
    )
    net: dict[int, dict[dt.date, float]] = {}
    for row in changes:
        sign = -1 if row["metric"] == "follower_loss" else 1
        days = net.setdefault(row["account_id"], {})
        days[row["day"]] = days.get(row["day"], 0) + sign * (row["total"] or 0)
    points = []
    for account_id, (anchor_at, count) in anchors.items():
        anchor_day = anchor_at.astimezone(tz).date()
        if count is None or account_id not in net:
            continue
        # followers at the end of day d = followers at the anchor minus what
        # was gained after d and up to the anchor.
        day = anchor_day - dt.timedelta(days=1)
        running = count - net[account_id].get(anchor_day, 0)
        while day >= start:
            if start <= day <= end:
                points.append(Point(account_id, day, _tidy(running), estimated=True))
            running -= net[account_id].get(day, 0)
            day -= dt.timedelta(days=1)
    if not points:
        return Series([], Provenance())
    provenance = _provenance(
        gains.filter(day__lte=end),
        derived="before the first reading, estimated backwards from daily "
        "follower gains and losses",
    )
    return Series(
        sorted(points, key=lambda p: (p.account_id, p.bucket)),
        # The estimate is an estimate whatever the gains' own flags say.
        Provenance(
            sources=provenance.sources,
            first_fetched=provenance.first_fetched,
            last_fetched=provenance.last_fetched,
            estimated=True,
            derived=provenance.derived,
        ),
    )
