"""Standard metrics of a period and of the period of equal length before it.

The overview cards and the compare tables show the same four numbers per
account or platform: followers at the end of the period, views gained in it,
its engagement rate and the items published in it, each with the change
against the previous period. Every number comes from aggregate queries
(a fixed number, whatever the count of items); Python only adds up per
platform.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from dashboard.forms import DateRange
from platforms import selectors
from platforms.models import ITEM_TOTAL_METRICS, ConnectedAccount, Platform

INTERACTIONS = ("like_count", "comment_count", "share_count")
ENGAGEMENT_METRICS = ["view_count", *INTERACTIONS]


@dataclass(frozen=True, slots=True)
class Kpi:
    """A value for the period, the previous period's, and the change.

    Counts change in percent; a rate changes in percentage points (5 % → 6 %
    is +1 point, not +20 %).
    """

    value: float | int | None
    before: float | int | None
    unit: Literal["count", "rate"] = "count"

    @property
    def change(self) -> float | None:
        if self.value is None or self.before is None:
            return None
        if self.unit == "rate":
            return round(100 * (self.value - self.before), 2)
        if not self.before:
            return None  # growth from nothing has no percentage
        return round(100 * (self.value - self.before) / self.before, 1)


@dataclass(frozen=True, slots=True)
class KpiRow:
    label: str
    platform: str
    followers: Kpi
    views: Kpi
    engagement_rate: Kpi
    new_items: Kpi
    #: Accounts whose engagement comes from counter readings, not day values.
    derived: tuple[str, ...] = ()
    accounts: int = 1


@dataclass
class _Period:
    """Per-account raw sums for one period, before adding up per platform."""

    followers: dict[int, float | int]
    views: dict[int, float | int]
    engaged_views: dict[int, float | int]
    interactions: dict[int, float | int]
    items: dict[int, int]
    derived: set[int] = field(default_factory=set)


def _sum(values: Iterable[float | int | None]) -> float | int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _moments(rng: DateRange, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(rng.start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(rng.end, dt.time.max, tzinfo=tz),
    )


def _period(ids: list[int], rng: DateRange, tz: ZoneInfo) -> _Period:
    start, end = _moments(rng, tz)
    # The account's own view counter and, for accounts without day values,
    # the item totals each collection run stores: one row per run and
    # account, so two index lookups per counter whatever the items.
    grown = selectors.counter_growth(
        account_ids=ids,
        metrics=["view_count", *ITEM_TOTAL_METRICS.values()],
        start=start,
        end=end,
    )
    # Day values where the platform gives them: the account's own (YouTube
    # channel, TikTok business account), else its items'.
    daily: dict[tuple[int, str], float | int] = {}
    rest = ids
    for level in ("account", "items"):
        daily |= selectors.daily_totals_by_account(
            account_ids=rest,
            metrics=ENGAGEMENT_METRICS,
            start=rng.start,
            end=rng.end,
            level=level,
            anchor="view_count",
        )
        rest = [pk for pk in rest if (pk, "view_count") not in daily]
        if not rest:
            break
    period = _Period(
        followers=selectors.counter_at(
            account_ids=ids, metric="follower_count", at=end
        ),
        views={pk: value for (pk, m), value in grown.items() if m == "view_count"},
        engaged_views={},
        interactions={},
        items=selectors.items_published_count(account_ids=ids, start=start, end=end),
    )
    for pk in ids:
        if (pk, "view_count") in daily:
            values = {m: daily.get((pk, m)) for m in ENGAGEMENT_METRICS}
        else:
            values = {
                m: grown.get((pk, ITEM_TOTAL_METRICS[m])) for m in ENGAGEMENT_METRICS
            }
            if values["view_count"] is not None:
                period.derived.add(pk)
        viewed = values["view_count"]
        interactions = _sum(values[m] for m in INTERACTIONS)
        if viewed and interactions is not None:
            period.engaged_views[pk] = viewed
            period.interactions[pk] = interactions
    return period


def _row(
    label: str,
    platform: str,
    pks: list[int],
    now: _Period,
    before: _Period,
    names: dict[int, str],
) -> KpiRow:
    def rate(period: _Period) -> float | None:
        viewed = _sum(period.engaged_views.get(pk) for pk in pks)
        interactions = _sum(period.interactions.get(pk) for pk in pks)
        if not viewed or interactions is None:
            return None
        return round(interactions / viewed, 4)

    def total(values_now: dict, values_before: dict) -> Kpi:
        return Kpi(
            _sum(values_now.get(pk) for pk in pks),
            _sum(values_before.get(pk) for pk in pks),
        )

    return KpiRow(
        label=label,
        platform=platform,
        followers=total(now.followers, before.followers),
        views=total(now.views, before.views),
        engagement_rate=Kpi(rate(now), rate(before), unit="rate"),
        new_items=Kpi(
            sum(now.items.get(pk, 0) for pk in pks),
            sum(before.items.get(pk, 0) for pk in pks),
        ),
        derived=tuple(names[pk] for pk in pks if pk in now.derived),
        accounts=len(pks),
    )


def kpi_rows(
    *,
    accounts: list[ConnectedAccount],
    rng: DateRange,
    tz: ZoneInfo,
    names: dict[int, str],
) -> tuple[list[KpiRow], list[KpiRow]]:
    """(one row per platform, one row per account) for `rng` and the period before."""
    ids = [a.pk for a in accounts]
    now, before = _period(ids, rng, tz), _period(ids, rng.previous(), tz)
    platforms = []
    for platform in Platform:
        pks = [a.pk for a in accounts if a.platform == platform]
        if pks:
            platforms.append(
                _row(platform.label, platform.label, pks, now, before, names)
            )
    per_account = [
        _row(names[a.pk], a.get_platform_display(), [a.pk], now, before, names)
        for a in accounts
    ]
    return platforms, per_account
