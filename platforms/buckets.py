"""Time buckets cut in SQL, in the creator's time zone.

Django's Trunc functions cut days, weeks and months on every backend; on
SQLite, though, each one calls a Python function for every row, and over a
year of daily readings of 1,000 items (365,000 rows) that alone takes
seconds. The UTC offsets a time zone uses over a queried range are known in
advance, so on SQLite the bucket is SQLite's own date()/strftime() with the
offset of the row's instant, picked by a CASE over the range's DST
transitions. PostgreSQL keeps Django's Trunc (native there).

Day, week (ISO, from Monday) and month buckets are dates. Hour buckets are
instants (aware, UTC from the database) on both backends, so a DST day's
23 or 25 hours stay distinct.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Case,
    DateField,
    DateTimeField,
    F,
    Func,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek

#: SQLite date() modifiers that turn a local date into its bucket's start.
_SQLITE_START = {
    "day": (),
    "week": ("-6 days", "weekday 1"),
    "month": ("start of month",),
}


def _minutes(tz: ZoneInfo, at: dt.datetime) -> int:
    offset = at.astimezone(tz).utcoffset() or dt.timedelta()
    return int(offset.total_seconds() // 60)


def offsets(
    tz: ZoneInfo, first: dt.datetime, after: dt.datetime
) -> list[tuple[dt.datetime | None, int]]:
    """The UTC offsets (minutes) in force over [first, after).

    Each entry is (until, offset): the offset holds before `until` (UTC);
    the last entry's `until` is None. Found day by day, then to the second
    by bisection, so a range of three years costs about a thousand steps.
    """
    first, after = first.astimezone(dt.UTC), after.astimezone(dt.UTC)
    out: list[tuple[dt.datetime | None, int]] = []
    current = _minutes(tz, first)
    at = first
    while at < after:
        step = min(at + dt.timedelta(days=1), after)
        if _minutes(tz, step) != current:
            # offset(low) == current != offset(high), in whole seconds: ends
            # with `high` at the transition itself.
            low, high = math.floor(at.timestamp()), math.ceil(step.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                if _minutes(tz, dt.datetime.fromtimestamp(middle, dt.UTC)) == current:
                    low = middle
                else:
                    high = middle
            until = dt.datetime.fromtimestamp(high, dt.UTC)
            out.append((until, current))
            current = _minutes(tz, until)
        at = step
    out.append((None, current))
    return out


def _modifier(minutes: int) -> str:
    return f"{minutes:+d} minutes"


def _sqlite_local(
    field: str,
    granularity: str,
    minutes: int,
):
    if granularity == "hour":
        local_hour = Func(
            Value("%Y-%m-%d %H:00:00"),
            F(field),
            Value(_modifier(minutes)),
            function="strftime",
        )
        return Func(
            local_hour,
            Value(_modifier(-minutes)),
            function="datetime",
            output_field=DateTimeField(),
        )
    modifiers = [Value(_modifier(minutes)), *map(Value, _SQLITE_START[granularity])]
    return Func(F(field), *modifiers, function="date", output_field=DateField())


class _HourStartPG(Func):
    """The instant the local hour began: date_trunc in the zone, back to UTC."""

    output_field = DateTimeField()

    def __init__(self, expression, tz: ZoneInfo) -> None:
        super().__init__(expression)
        self.tz = tz

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(DATE_TRUNC('hour', {sql} AT TIME ZONE %s) AT TIME ZONE %s)",
            (*params, self.tz.key, self.tz.key),
        )


def local_bucket(
    field: str,
    granularity: str,
    tz: ZoneInfo,
    *,
    first: dt.datetime,
    after: dt.datetime,
):
    """The bucket of a datetime column, cut in `tz`; rows lie in [first, after)."""
    if connection.vendor == "sqlite":
        spans = offsets(tz, first, after)
        default = _sqlite_local(field, granularity, spans[-1][1])
        if len(spans) == 1:
            return default
        return Case(
            *(
                When(
                    **{f"{field}__lt": until},
                    then=_sqlite_local(field, granularity, minutes),
                )
                for until, minutes in spans[:-1]
            ),
            default=default,
            output_field=default.output_field,
        )
    if granularity == "hour":
        return _HourStartPG(F(field), tz)
    trunc = {"week": TruncWeek, "month": TruncMonth}.get(granularity, TruncDate)
    return trunc(field, tzinfo=tz)


def date_bucket(field: str, granularity: str):
    """The week or month a date column falls in (a day is itself)."""
    if granularity not in ("week", "month"):
        return F(field)
    if connection.vendor == "sqlite":
        modifiers = map(Value, _SQLITE_START[granularity])
        return Func(F(field), *modifiers, function="date", output_field=DateField())
    trunc = TruncWeek if granularity == "week" else TruncMonth
    return trunc(field, output_field=DateField())
