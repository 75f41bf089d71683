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
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Cast,
    Coalesce,
)
from django.http import Http404

from platforms.buckets import date_bucket, local_bucket
from platforms.models import (
    ConnectedAccount,
    ContentItem,
    DailyMetric,
    Distribution,
    MetricSnapshot,
)

Granularity = Literal["reading", "hour", "day", "week", "month"]
Level = Literal["account", "items"]


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
    return _fold_provenance(
        rows.order_by()
        .values("source")
        .annotate(first=Min("fetched_at"), last=Max("fetched_at"), flag=_flag()),
        derived=derived,
    )


def _provenance_by_metric(rows: QuerySet, *, derived: str = "") -> dict:
    """`_provenance` of each metric among `rows`, in one query."""
    grouped: dict[str, list[dict]] = {}
    for row in (
        rows.order_by()
        .values("metric", "source")
        .annotate(first=Min("fetched_at"), last=Max("fetched_at"), flag=_flag())
    ):
        grouped.setdefault(row["metric"], []).append(row)
    return {
        metric: _fold_provenance(found, derived=derived)
        for metric, found in grouped.items()
    }


def _fold_provenance(grouped, *, derived: str) -> Provenance:
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


def _bucket_value(value: dt.date | dt.datetime, granularity: str, tz: ZoneInfo | None):
    """A bucket from the ORM: a date, or for hours the local hour's start."""
    if granularity == "hour":
        return value.astimezone(tz) if tz and isinstance(value, dt.datetime) else value
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

    Account level by default; with `item_id`, that item's own days.
    """
    rows = DailyMetric.objects.filter(
        account_id__in=account_ids, metric=metric, day__range=(start, end)
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    rows = rows.filter(item_id=item_id) if item_id else rows.filter(item__isnull=True)
    return _series(rows, date_bucket("day", _per_day(granularity)), total=True)


def daily_series_by_metric(
    *,
    account_ids: list[int],
    metrics: list[str],
    start: dt.date,
    end: dt.date,
    granularity: Granularity = "day",
    level: Level = "account",
    anchor: str | None = None,
) -> dict[str, Series]:
    """Per-day values of several metrics, summed per account and bucket.

    `level` "account" reads the account's own day values (a YouTube
    channel's Analytics rows, a TikTok business account's days); "items"
    sums its items' day values. With `anchor`, only accounts that have day
    values of that metric at that level in the range take part, so every
    metric of an account comes from the same level.
    """
    rows = _daily_rows(account_ids, metrics, start, end, level=level, anchor=anchor)
    return _series_by_metric(
        rows, date_bucket("day", _per_day(granularity)), metrics, total=True
    )


def _daily_rows(
    account_ids: list[int],
    metrics: list[str],
    start: dt.date,
    end: dt.date,
    *,
    level: Level,
    anchor: str | None,
) -> QuerySet:
    def present(rows: QuerySet) -> QuerySet:
        return rows.filter(
            day__range=(start, end), item__isnull=level == "account"
        ).exclude(value_int__isnull=True, value_float__isnull=True)

    rows = present(DailyMetric.objects.filter(metric__in=metrics))
    if anchor is None:
        return rows.filter(account_id__in=account_ids)
    # One index probe per account, not one per row. The accounts come only
    # through this subquery: next to a second IN on account_id, SQLite reads
    # the account's item rows too before it drops them.
    anchored = present(
        DailyMetric.objects.filter(account_id=OuterRef("pk"), metric=anchor)
    )
    accounts = ConnectedAccount.objects.filter(pk__in=account_ids).filter(
        Exists(anchored)
    )
    return rows.filter(account_id__in=accounts.values("pk"))


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
        return Series(points, _provenance(rows))
    bucket = local_bucket("fetched_at", granularity, tz, first=first, after=after)
    return _series(rows, bucket, total=False, granularity=granularity, tz=tz)


def _series(
    rows: QuerySet,
    bucket,
    *,
    total: bool,
    granularity: str = "day",
    tz: ZoneInfo | None = None,
) -> Series:
    """Rows of one metric summed (`total`) or maxed per account and bucket."""
    (series,) = _series_by_metric(
        rows, bucket, [None], total=total, granularity=granularity, tz=tz
    ).values()
    return series


def _series_by_metric(
    rows: QuerySet,
    bucket,
    metrics: list[str] | list[None],
    *,
    total: bool,
    granularity: str = "day",
    tz: ZoneInfo | None = None,
) -> dict:
    """Rows summed (`total`) or maxed per metric, account and bucket, with
    provenance; `[None]` for rows of one metric, keyed None.

    One pass: grouped by source as well, so the same query gives each
    bucket's value and the distinct sources with their MIN/MAX(fetched_at);
    Python only folds the few sources of a bucket together.
    """
    by_metric = metrics != [None]
    keys = ["metric"] if by_metric else []
    grouped = (
        rows.annotate(bucket=bucket)
        .values(*keys, "account_id", "bucket", "source")
        .annotate(
            value=Sum(_numeric()) if total else Max(_numeric()),
            flag=_flag(),
            first=Min("fetched_at"),
            last=Max("fetched_at"),
        )
        .order_by(*keys, "account_id", "bucket")
    )
    folded: dict = {
        metric: ({}, set(), [], [], [False]) for metric in metrics
    }  # points, sources, firsts, lasts, estimated
    for row in grouped:
        points, sources, firsts, lasts, estimated = folded[
            row["metric"] if by_metric else None
        ]
        sources.add(row["source"])
        firsts.append(row["first"])
        lasts.append(row["last"])
        estimated[0] = estimated[0] or bool(row["flag"])
        if row["value"] is None:
            continue
        key = (row["account_id"], _bucket_value(row["bucket"], granularity, tz))
        entry = points.setdefault(key, [None, False])
        value = row["value"]
        if entry[0] is not None:
            value = entry[0] + value if total else max(entry[0], value)
        entry[0], entry[1] = value, entry[1] or bool(row["flag"])
    return {
        metric: Series(
            [
                Point(account_id, at, _tidy(value), flag)
                for (account_id, at), (value, flag) in points.items()
            ],
            Provenance(
                sources=tuple(sorted(sources)),
                first_fetched=min(firsts) if firsts else None,
                last_fetched=max(lasts) if lasts else None,
                estimated=estimated[0],
            ),
        )
        for metric, (points, sources, firsts, lasts, estimated) in folded.items()
    }


#: How per-period values derived from readings are described.
DERIVED_FROM_READINGS = (
    "derived from readings: the last reading of each period minus the last "
    "reading of the period before"
)


def snapshot_deltas(
    *,
    account_ids: list[int],
    metric: str,
    start: dt.date,
    end: dt.date,
    tz: ZoneInfo,
    granularity: Granularity = "day",
    level: Level = "items",
    item_id: int | None = None,
    derived: str = DERIVED_FROM_READINGS,
) -> Series:
    """Per-period growth of one counter; see `snapshot_deltas_by_metric`."""
    return snapshot_deltas_by_metric(
        account_ids=account_ids,
        metrics=[metric],
        start=start,
        end=end,
        tz=tz,
        granularity=granularity,
        level=level,
        item_id=item_id,
        derived=derived,
    )[metric]


def snapshot_deltas_by_metric(
    *,
    account_ids: list[int],
    metrics: list[str],
    start: dt.date,
    end: dt.date,
    tz: ZoneInfo,
    granularity: Granularity = "day",
    level: Level = "items",
    item_id: int | None = None,
    derived: str = DERIVED_FROM_READINGS,
) -> dict[str, Series]:
    """Per-period growth of counters, derived from their readings in SQL.

    For platforms that give counters only (TikTok and Instagram item
    metrics), each counter's last reading per bucket minus its last reading
    in the bucket before, summed per metric, account and bucket: per item
    (`level` "items", or the one `item_id`) or the account's own counter
    ("account", which includes the item totals of `ITEM_TOTAL_METRICS`).
    An item first read in the bucket it was published in counts whole (it
    had nothing before). A bucket whose previous bucket has no reading is a
    gap, not a guess; with "reading", each reading's growth over the one
    before it.

    The database does the work: GROUP BY bucket for the last readings, LAG()
    over each counter's buckets, then SUM per metric, account and bucket;
    only one row per (metric, account, bucket, previous bucket) reaches
    Python. Two queries whatever the number of metrics.
    """
    first, after = _moments(_lookback(start, granularity), end, tz)
    rows = MetricSnapshot.objects.filter(
        account_id__in=account_ids,
        metric__in=metrics,
        fetched_at__gte=first,
        fetched_at__lt=after,
    ).exclude(value_int__isnull=True, value_float__isnull=True)
    if item_id is not None:
        rows = rows.filter(item_id=item_id)
    else:
        rows = rows.filter(item__isnull=level == "account")
    reading = granularity == "reading"
    bucket = (
        F("fetched_at")
        if reading
        else local_bucket("fetched_at", granularity, tz, first=first, after=after)
    )
    inner = (
        rows.annotate(bucket=bucket)
        .values("metric", "account_id", "item_id", "bucket")
        .annotate(value=Max(_numeric()), flag=_flag())
        .order_by()
    )
    sql, params = inner.query.sql_with_params()
    q = connection.ops.quote_name
    metric, account, item, b, value, flag = (
        q(n) for n in ("metric", "account_id", "item_id", "bucket", "value", "flag")
    )
    first_read, first_params = "", ()
    if not reading and level == "items":
        # An item first read in the bucket it was published in counts whole.
        # Asked per first reading only (the OR's other side holds for the
        # rest), and by primary key, so no plan can scan items per reading.
        published = (
            ContentItem.objects.filter(
                pk=RawSQL(f"d.{item}", ()),
                published_at__gte=first,
                published_at__lt=after,
            )
            .annotate(
                pub_bucket=local_bucket(
                    "published_at", granularity, tz, first=first, after=after
                )
            )
            .filter(pub_bucket=RawSQL(f"d.{b}", ()))
            .values("id")
            .order_by()
        )
        items_sql, first_params = published.query.sql_with_params()
        first_read = f" OR EXISTS ({items_sql})"
    window = f"OVER (PARTITION BY g.{metric}, g.{account}, g.{item} ORDER BY g.{b})"
    query = f"""
        SELECT d.{metric}, d.{account}, d.{b}, d.prev_bucket,
               SUM(CASE WHEN d.prev_value IS NULL THEN d.{value}
                        ELSE d.{value} - d.prev_value END),
               MAX(CASE WHEN d.{flag} = 1 OR d.prev_flag = 1 THEN 1 ELSE 0 END)
        FROM (
            SELECT g.{metric}, g.{account}, g.{item}, g.{b}, g.{value}, g.{flag},
                   LAG(g.{value}) {window} AS prev_value,
                   LAG(g.{flag}) {window} AS prev_flag,
                   LAG(g.{b}) {window} AS prev_bucket
            FROM ({sql}) g
        ) d
        WHERE d.prev_value IS NOT NULL{first_read}
        GROUP BY d.{metric}, d.{account}, d.{b}, d.prev_bucket
    """
    params = (*params, *first_params)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        grouped = cursor.fetchall()
    lowest = _first_bucket(start, granularity, tz)
    sums: dict[tuple[str, int, dt.date | dt.datetime], list] = {}
    for name, account_id, raw, raw_previous, total, est in grouped:
        at = _raw_bucket(raw, granularity, tz)
        if total is None or at < lowest:
            continue
        entry = sums.setdefault((name, account_id, at), [0.0, 0.0, False, False, False])
        if raw_previous is None:
            entry[1] += total  # items first read where they were published
            entry[4] = True
        elif reading or _raw_bucket(raw_previous, granularity, tz) == _step_back(
            at, granularity
        ):
            entry[0] += total
            entry[2] = True  # the bucket before has readings: a real delta
        else:
            continue  # growth over several buckets belongs to none of them
        entry[3] = entry[3] or bool(est)
    points: dict[str, list[Point]] = {name: [] for name in metrics}
    for key, (delta, new, adjacent, estimated, whole) in sorted(sums.items()):
        name, account_id, at = key
        # Summed over items, a bucket also needs its older items' deltas: new
        # items alone would undercount it. One item's first period is whole.
        if adjacent or (whole and item_id is not None):
            points[name].append(Point(account_id, at, _tidy(delta + new), estimated))
    provenance = _provenance_by_metric(rows, derived=derived)
    return {
        name: Series(points[name], provenance.get(name, Provenance(derived=derived)))
        for name in metrics
    }


#: How far before a range of readings its first reading's predecessor is
#: looked for (a bound, so a 2-day range never scans an item's whole history).
READINGS_LOOKBACK_DAYS = 7


def _lookback(start: dt.date, granularity: Granularity) -> dt.date:
    """The start of the bucket before the first one: its readings are the base."""
    if granularity == "reading":
        return start - dt.timedelta(days=READINGS_LOOKBACK_DAYS)
    if granularity == "month":
        return (start.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    if granularity == "week":
        return start - dt.timedelta(days=start.weekday() + 7)
    return start - dt.timedelta(days=1)


def _first_bucket(start: dt.date, granularity: Granularity, tz: ZoneInfo):
    if granularity in ("hour", "reading"):
        return dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    if granularity == "month":
        return start.replace(day=1)
    if granularity == "week":
        return start - dt.timedelta(days=start.weekday())
    return start


def _step_back(bucket, granularity: Granularity):
    """The bucket just before `bucket`, as the database truncates."""
    if granularity == "hour":
        # Step in UTC: across DST the local hour before is still one hour back.
        return (bucket.astimezone(dt.UTC) - dt.timedelta(hours=1)).astimezone(
            bucket.tzinfo
        )
    if granularity == "month":
        return (bucket - dt.timedelta(days=1)).replace(day=1)
    return bucket - dt.timedelta(days=7 if granularity == "week" else 1)


def _raw_bucket(value, granularity: Granularity, tz: ZoneInfo):
    """A bucket as a raw cursor returns it (SQLite: text) as a date or datetime.

    Readings and hour starts are instants: SQLite gives UTC text, PostgreSQL
    aware datetimes; both end up in `tz`.
    """
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    elif not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time.min)
    if granularity in ("reading", "hour"):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(tz)
    return value.date()


def counter_growth(
    *,
    account_ids: list[int],
    metrics: list[str],
    start: dt.datetime,
    end: dt.datetime,
    level: Level = "account",
) -> dict[tuple[int, str], float | int]:
    """How much counters grew over [start, end], per (account, metric), in SQL.

    Each counter's newest reading in (start, end] minus its newest reading
    up to `start`; with `level="items"`, summed over the account's items,
    an item published after `start` counting from 0. A counter without a
    reading on both sides is left out, and an account none of whose
    counters has both is absent: unknown, never 0.

    One row per counter owner (account or item) with two index lookups per
    metric, rather than a pass over every reading.
    """
    items = level == "items"
    owners = (
        ContentItem.objects.filter(account_id__in=account_ids)
        if items
        else ConnectedAccount.objects.filter(pk__in=account_ids)
    )
    key = "item_id" if items else "account_id"
    readings = MetricSnapshot.objects.filter(
        **{key: OuterRef("pk")}, item__isnull=not items
    ).exclude(value_int__isnull=True, value_float__isnull=True)

    def newest(**window) -> Subquery:
        return Subquery(
            readings.filter(**window)
            .order_by("-fetched_at")
            .annotate(v=_numeric())
            .values("v")[:1],
            output_field=FloatField(),
        )

    growth = {}
    for n, metric in enumerate(metrics):
        baseline = newest(metric=metric, fetched_at__lte=start)
        if items:
            baseline = Coalesce(
                baseline,
                Case(
                    When(published_at__gt=start, then=Value(0.0)),
                    output_field=FloatField(),
                ),
            )
        at_end = newest(metric=metric, fetched_at__gt=start, fetched_at__lte=end)
        growth[f"g{n}"] = Sum(at_end - baseline)
    account = "account_id" if items else "pk"
    rows = owners.order_by().values(account).annotate(**growth)
    return {
        (row[account], metric): _tidy(row[f"g{n}"])
        for row in rows
        for n, metric in enumerate(metrics)
        if row[f"g{n}"] is not None
    }


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
    *,
    account_ids: list[int],
    metrics: list[str],
    start: dt.date,
    end: dt.date,
    level: Level = "account",
    anchor: str | None = None,
) -> dict[tuple[int, str], float | int]:
    """Sum of per-day values per (account, metric) over a period.

    `level` and `anchor` as in `daily_series_by_metric`.
    """
    rows = (
        _daily_rows(account_ids, metrics, start, end, level=level, anchor=anchor)
        .values("account_id", "metric")
        .annotate(total=Sum(_numeric()))
        .order_by()
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
    cut = "day" if granularity == "reading" else granularity
    rows = (
        items.annotate(
            bucket=local_bucket(
                "published_at",
                cut,
                tz,
                first=start,
                after=end + dt.timedelta(microseconds=1),
            )
        )
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by("bucket")
    )
    counts = {_bucket_value(row["bucket"], cut, tz): row["n"] for row in rows}
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
        # Before the oldest day with gains nothing says how the count moved:
        # the walk ends there rather than carry the number back as a guess.
        # (Followers at the end of the day before it are still known.)
        oldest_known = min(net[account_id]) - dt.timedelta(days=1)
        while day >= max(start, oldest_known):
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
