"""Idempotent bulk writes of collected content and metric values.

Every write is an upsert keyed by the model's unique constraints, so running
the same collection twice changes nothing. The metric tables use *partial*
unique constraints (account-level rows have no item), which Django's
`bulk_create(update_conflicts=True)` cannot target: PostgreSQL and SQLite both
need the index predicate in the ON CONFLICT clause. `_upsert` writes that
statement, in batches, for both backends.

A value the platform did not give never overwrites a number already stored:
the row keeps the number and only `fetched_at` moves on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Max

from platforms.models import (
    ITEM_TOTAL_METRICS,
    ConnectedAccount,
    ContentItem,
    DailyMetric,
    Distribution,
    MetricSnapshot,
)

BATCH_SIZE = 500


@dataclass(frozen=True, slots=True)
class ItemData:
    """What a platform says about one content item."""

    platform_item_id: str
    kind: str
    title: str = ""
    published_at: dt.datetime | None = None
    url: str = ""
    thumbnail_url: str = ""
    duration_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One metric value; `value is None` means the platform did not give it."""

    metric: str
    value: int | float | None
    source: str
    missing_reason: str = ""
    estimated: bool = False
    item_id: int | None = None  # our ContentItem pk; None for account level
    day: dt.date | None = None  # set for per-day values only

    def columns(self) -> dict[str, Any]:
        is_int = isinstance(self.value, int) and not isinstance(self.value, bool)
        return {
            "item_id": self.item_id,
            "metric": self.metric,
            "value_int": self.value if is_int else None,
            "value_float": None if is_int or self.value is None else float(self.value),
            "missing_reason": "" if self.value is not None else self.missing_reason,
            "source": self.source,
            "estimated": self.estimated,
        }


@dataclass(frozen=True, slots=True)
class DistributionData:
    kind: str
    day: dt.date
    data: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""
    estimated: bool = False
    item_id: int | None = None


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _upsert(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    *,
    conflict: Sequence[str],
    predicate: str = "",
    update: Sequence[str],
    keep_numbers: bool = False,
) -> int:
    """INSERT ... ON CONFLICT (conflict) [WHERE predicate] DO UPDATE, batched.

    `rows` hold attnames (e.g. `account_id`). With `keep_numbers`, an incoming
    row without a value leaves the stored value columns alone.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    written = 0
    for rows_in_batch in _batches(rows, BATCH_SIZE):
        # PostgreSQL refuses a statement that would update one row twice;
        # the last value for a key wins, as it would row by row.
        batch = list(
            {tuple(row[c] for c in conflict): row for row in rows_in_batch}.values()
        )
        columns = list(batch[0])
        fields = [model._meta.get_field(_field_name(model, col)) for col in columns]
        quoted = [connection.ops.quote_name(col) for col in columns]
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        params: list[Any] = []
        for row in batch:
            params.extend(
                f.get_db_prep_save(row[col], connection)
                for f, col in zip(fields, columns, strict=True)
            )
        assignments = [_assignment(table, col, keep_numbers) for col in update]
        target = ", ".join(connection.ops.quote_name(c) for c in conflict)
        where = f" WHERE {predicate}" if predicate else ""
        sql = (
            f"INSERT INTO {table} ({', '.join(quoted)}) "
            f"VALUES {', '.join([placeholders] * len(batch))} "
            f"ON CONFLICT ({target}){where} DO UPDATE SET {', '.join(assignments)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        written += len(batch)
    return written


def _field_name(model: type[models.Model], column: str) -> str:
    for f in model._meta.concrete_fields:
        if f.attname == column:
            return f.name
    raise ValueError(f"{model.__name__} has no column {column!r}")


_VALUE_COLUMNS = ("value_int", "value_float", "missing_reason", "estimated")


def _assignment(table: str, column: str, keep_numbers: bool) -> str:
    quoted = connection.ops.quote_name(column)
    if keep_numbers and column in _VALUE_COLUMNS:
        incoming_missing = "excluded.value_int IS NULL AND excluded.value_float IS NULL"
        return (
            f"{quoted} = CASE WHEN {incoming_missing} "
            f"THEN {table}.{quoted} ELSE excluded.{quoted} END"
        )
    return f"{quoted} = excluded.{quoted}"


def _level(values: Iterable[MetricValue]) -> tuple[list, list]:
    account_level, item_level = [], []
    for value in values:
        (item_level if value.item_id is not None else account_level).append(value)
    return account_level, item_level


@transaction.atomic
def items_upsert(
    *, account: ConnectedAccount, items: Iterable[ItemData], seen_at: dt.datetime
) -> dict[str, int]:
    """Insert or update items by platform id; returns {platform id: pk}.

    Items seen again become available again: a video that was private and is
    public now is content once more.
    """
    unique = {item.platform_item_id: item for item in items}
    rows = (
        {
            "account_id": account.pk,
            "platform_item_id": item.platform_item_id,
            "kind": item.kind,
            "title": item.title,
            "published_at": item.published_at,
            "url": item.url,
            "thumbnail_url": item.thumbnail_url,
            "duration_seconds": item.duration_seconds,
            "availability": ContentItem.Availability.AVAILABLE,
            "availability_since": None,
            "first_seen_at": seen_at,
            "last_seen_at": seen_at,
        }
        for item in unique.values()
    )
    _upsert(
        ContentItem,
        rows,
        conflict=["account_id", "platform_item_id"],
        update=[
            "kind",
            "title",
            "published_at",
            "url",
            "thumbnail_url",
            "duration_seconds",
            "availability",
            "availability_since",
            "last_seen_at",
        ],
    )
    return dict(
        ContentItem.objects.filter(
            account=account, platform_item_id__in=list(unique)
        ).values_list("platform_item_id", "pk")
    )


def items_mark_unavailable(
    *,
    account: ConnectedAccount,
    platform_item_ids: Iterable[str],
    availability: str = ContentItem.Availability.UNAVAILABLE,
    since: dt.datetime,
) -> int:
    """Mark items the platform no longer returns; their history stays."""
    return (
        ContentItem.objects.filter(
            account=account, platform_item_id__in=list(platform_item_ids)
        )
        .exclude(availability=availability)
        .update(availability=availability, availability_since=since)
    )


@transaction.atomic
def snapshots_upsert(
    *,
    account: ConnectedAccount,
    values: Iterable[MetricValue],
    fetched_at: dt.datetime,
) -> int:
    """Store point-in-time counters fetched at `fetched_at`."""
    account_level, item_level = _level(values)
    written = 0
    for level, conflict, predicate in (
        (account_level, ["account_id", "metric", "fetched_at"], "item_id IS NULL"),
        (item_level, ["item_id", "metric", "fetched_at"], "item_id IS NOT NULL"),
    ):
        rows = (
            {"account_id": account.pk, "fetched_at": fetched_at, **v.columns()}
            for v in level
        )
        written += _upsert(
            MetricSnapshot,
            rows,
            conflict=conflict,
            predicate=predicate,
            update=[
                "value_int",
                "value_float",
                "missing_reason",
                "source",
                "estimated",
            ],
            keep_numbers=True,
        )
    return written


#: How an item total names where its numbers came from (the item sources follow).
ITEM_TOTAL_SOURCE = "derived: sum of items' latest readings"
_SOURCE_LENGTH = MetricSnapshot._meta.get_field("source").max_length


@transaction.atomic
def item_totals_upsert(
    *,
    account: ConnectedAccount,
    fetched_at: dt.datetime,
    fresh_since: dt.datetime | None = None,
) -> int:
    """Roll the items' counters up to the account, as they stand at `fetched_at`.

    One account-level reading per `ITEM_TOTAL_METRICS` name: the sum of each
    item's newest reading with a value at or before `fetched_at`, whatever
    the item's availability now (a deleted video's views are not taken back
    from a later period). Called at the end of a collection run, so account
    charts and cards derive per-period growth from one row per run instead
    of from every item's readings.

    The total is flagged estimated when any reading in it is, when an item
    still listed was last read before `fresh_since` (the run's start: its
    growth since then is missing until it is read again), or when an item
    read for the first time in this run was published before the previous
    total (it brings growth from before that total with it). No item with a
    reading gives NULL with a reason, never 0. Keyed like every reading, so
    a re-run at the same `fetched_at` rewrites the same rows.
    """
    fresh_since = fresh_since or fetched_at
    previous = MetricSnapshot.objects.filter(
        account_id=account.pk,
        item__isnull=True,
        metric__in=list(ITEM_TOTAL_METRICS.values()),
        fetched_at__lt=fetched_at,
    ).aggregate(at=Max("fetched_at"))["at"]
    found: dict[str, dict[str, Any]] = {}
    for metric, source, ints, floats, flagged, stale, joined in _item_totals(
        account, fetched_at=fetched_at, fresh_since=fresh_since, previous=previous
    ):
        total = found.setdefault(
            metric, {"ints": 0, "floats": None, "sources": set(), "estimated": False}
        )
        # PostgreSQL sums bigints as numeric: back to exact Python ints.
        total["ints"] += int(ints or 0)
        if floats is not None:
            total["floats"] = (total["floats"] or 0.0) + float(floats)
        total["sources"].add(source)
        total["estimated"] |= bool(flagged or stale or joined)
    values = []
    for metric, stored in ITEM_TOTAL_METRICS.items():
        total = found.get(metric)
        if total is None:
            values.append(
                MetricValue(
                    stored,
                    None,
                    ITEM_TOTAL_SOURCE,
                    f"no item of the account has a {metric} reading",
                )
            )
            continue
        value = total["ints"]
        if total["floats"] is not None:
            value = float(value) + total["floats"]
        source = f"{ITEM_TOTAL_SOURCE} ({', '.join(sorted(total['sources']))})"
        if len(source) > _SOURCE_LENGTH:
            source = f"{source[: _SOURCE_LENGTH - 2]}…)"
        values.append(MetricValue(stored, value, source, estimated=total["estimated"]))
    return snapshots_upsert(account=account, values=values, fetched_at=fetched_at)


def _item_totals(
    account: ConnectedAccount,
    *,
    fetched_at: dt.datetime,
    fresh_since: dt.datetime,
    previous: dt.datetime | None,
) -> list[tuple]:
    """Per (metric, source) of the items' newest readings: the sums and flags.

    Driven by the account's items: for each item and metric, the newest
    reading with a value is one lookup on the (item, metric, fetched_at)
    index, so the cost follows the items, not their history.
    """
    q = connection.ops.quote_name
    snapshots = q(MetricSnapshot._meta.db_table)
    items = q(ContentItem._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    has_value = "({t}.value_int IS NOT NULL OR {t}.value_float IS NOT NULL)"
    metrics = " UNION ALL ".join(["SELECT %s AS metric"] * len(ITEM_TOTAL_METRICS))
    newest = f"""
        SELECT t.id FROM {snapshots} t
        WHERE t.item_id = i.id AND t.metric = m.metric AND t.fetched_at <= %s
          AND {has_value.format(t="t")}
        ORDER BY t.fetched_at DESC LIMIT 1
    """
    joined, joined_params = "0", []
    if previous is not None:
        # Read for the first time in this run, but published before the
        # previous total: its whole count lands in this run's growth.
        joined = f"""CASE WHEN s.fetched_at >= %s
            AND (i.published_at IS NULL OR i.published_at < %s)
            AND NOT EXISTS (
                SELECT 1 FROM {snapshots} o
                WHERE o.item_id = i.id AND o.metric = n.metric
                  AND o.fetched_at < %s AND {has_value.format(t="o")}
            ) THEN 1 ELSE 0 END"""
        joined_params = [adapt(fresh_since), adapt(previous), adapt(fresh_since)]
    # The newest readings' ids first, then one primary-key lookup each.
    # PostgreSQL would fold the subquery into the join and hash every
    # reading of every account instead; MATERIALIZED keeps it apart.
    fence = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    sql = f"""
        WITH n AS {fence} (
            SELECT i.id AS item_id, m.metric, ({newest}) AS snapshot_id
            FROM {items} i CROSS JOIN ({metrics}) m
            WHERE i.account_id = %s
        )
        SELECT n.metric, s.source, SUM(s.value_int), SUM(s.value_float),
               MAX(CASE WHEN s.estimated THEN 1 ELSE 0 END),
               SUM(CASE WHEN s.fetched_at < %s AND i.availability = %s
                        AND i.kind <> %s THEN 1 ELSE 0 END),
               SUM({joined})
        FROM n
        JOIN {items} i ON i.id = n.item_id
        JOIN {snapshots} s ON s.id = n.snapshot_id
        GROUP BY n.metric, s.source
    """
    params = [
        adapt(fetched_at),
        *ITEM_TOTAL_METRICS,
        account.pk,
        adapt(fresh_since),
        ContentItem.Availability.AVAILABLE,
        ContentItem.Kind.STORY,
        *joined_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@transaction.atomic
def daily_values_upsert(
    *,
    account: ConnectedAccount,
    values: Iterable[MetricValue],
    fetched_at: dt.datetime,
) -> int:
    """Store per-day values; a later fetch of the same day revises the number."""
    account_level, item_level = _level(values)
    written = 0
    for level, conflict, predicate in (
        (account_level, ["account_id", "metric", "day"], "item_id IS NULL"),
        (item_level, ["item_id", "metric", "day"], "item_id IS NOT NULL"),
    ):
        rows = (
            {
                "account_id": account.pk,
                "fetched_at": fetched_at,
                "day": v.day,
                **v.columns(),
            }
            for v in level
        )
        written += _upsert(
            DailyMetric,
            rows,
            conflict=conflict,
            predicate=predicate,
            update=[
                "value_int",
                "value_float",
                "missing_reason",
                "source",
                "estimated",
                "fetched_at",
            ],
            keep_numbers=True,
        )
    return written


@transaction.atomic
def distributions_upsert(
    *,
    account: ConnectedAccount,
    distributions: Iterable[DistributionData],
    fetched_at: dt.datetime,
) -> int:
    account_level, item_level = [], []
    for dist in distributions:
        (item_level if dist.item_id is not None else account_level).append(dist)
    written = 0
    for level, conflict, predicate in (
        (account_level, ["account_id", "kind", "day"], "item_id IS NULL"),
        (item_level, ["item_id", "kind", "day"], "item_id IS NOT NULL"),
    ):
        rows = (
            {
                "account_id": account.pk,
                "item_id": d.item_id,
                "kind": d.kind,
                "day": d.day,
                "data": d.data,
                "source": d.source,
                "fetched_at": fetched_at,
                "estimated": d.estimated,
            }
            for d in level
        )
        written += _upsert(
            Distribution,
            rows,
            conflict=conflict,
            predicate=predicate,
            update=["data", "source", "fetched_at", "estimated"],
        )
    return written
