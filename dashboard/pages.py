"""Builds the charts and figures of each creator page from selectors.

Views stay thin: they resolve the request (range, owner) and call one of the
`*_page` functions here, which return plain context dicts. Every chart
carries its data as rows too, so the same page serves its CSV download.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.db.models import (
    Exists,
    FloatField,
    OuterRef,
    Subquery,
)
from django.db.models.functions import Cast, Coalesce

from dashboard import charts
from dashboard.forms import DateRange
from platforms import selectors
from platforms.models import ConnectedAccount, ContentItem, MetricSnapshot, Platform
from platforms.selectors import Point


@dataclass
class Chart:
    """A figure plus the rows behind it (for CSV and for accessible tables)."""

    id: str
    title: str
    source: str
    html: str
    header: Sequence[str]
    rows: list[Sequence[object]] = field(default_factory=list)
    empty: bool = False


def _series_chart(
    chart_id: str,
    points: list[Point],
    *,
    names: dict[int, str],
    rng: DateRange,
    title: str,
    y_title: str,
    source: str,
    percent: bool = False,
) -> Chart:
    figure = charts.time_series_figure(
        points,
        names=names,
        start=rng.start,
        end=rng.end,
        granularity=rng.granularity,  # type: ignore[arg-type]
        title=title,
        y_title=y_title,
        source=source,
        percent=percent,
    )
    rows = [
        (names.get(p.account_id, p.account_id), p.bucket.isoformat(), p.value)
        for p in points
    ]
    return Chart(
        id=chart_id,
        title=title,
        source=source,
        html=charts.to_html(figure, div_id=f"chart-{chart_id}"),
        header=("account", "period start", y_title),
        rows=rows,
        empty=not points,
    )


def _names(accounts: Iterable[ConnectedAccount]) -> dict[int, str]:
    return {
        a.pk: f"{a.get_platform_display()} · "
        f"{a.handle or a.display_name or a.platform_user_id}"
        for a in accounts
    }


def _change(current: float | int | None, previous: float | int | None) -> float | None:
    if current is None or not previous:
        return None
    return round(100 * (current - previous) / previous, 1)


def _sum(values: Iterable[float | int | None]) -> float | int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def overview_page(
    *, accounts: list[ConnectedAccount], rng: DateRange, tz: ZoneInfo
) -> dict:
    ids = [a.pk for a in accounts]
    names = _names(accounts)
    previous = rng.previous()
    followers = selectors.latest_snapshot_values(
        account_ids=ids, metric="follower_count"
    )
    engagement_metrics = ["view_count", "like_count", "comment_count", "share_count"]
    now_totals = selectors.daily_totals_by_account(
        account_ids=ids, metrics=engagement_metrics, start=rng.start, end=rng.end
    )
    before_totals = selectors.daily_totals_by_account(
        account_ids=ids,
        metrics=engagement_metrics,
        start=previous.start,
        end=previous.end,
    )

    def window(day: dt.date, end: bool = False) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=tz)

    new_items = selectors.items_published_count(
        account_ids=ids, start=window(rng.start), end=window(rng.end, end=True)
    )
    new_items_before = selectors.items_published_count(
        account_ids=ids,
        start=window(previous.start),
        end=window(previous.end, end=True),
    )
    cards = []
    for platform in Platform:
        platform_ids = [a.pk for a in accounts if a.platform == platform]
        if not platform_ids:
            continue

        def total(totals: dict, metric: str, pids: list[int] = platform_ids):
            return _sum(totals.get((pk, metric)) for pk in pids)

        views, views_before = (
            total(now_totals, "view_count"),
            total(before_totals, "view_count"),
        )
        interactions = _sum(
            total(now_totals, m) for m in ("like_count", "comment_count", "share_count")
        )
        interactions_before = _sum(
            total(before_totals, m)
            for m in ("like_count", "comment_count", "share_count")
        )
        rate = interactions / views if views and interactions is not None else None
        rate_before = (
            interactions_before / views_before
            if views_before and interactions_before is not None
            else None
        )
        items_now = sum(new_items.get(pk, 0) for pk in platform_ids)
        items_before = sum(new_items_before.get(pk, 0) for pk in platform_ids)
        cards.append(
            {
                "platform": platform.label,
                "followers": _sum(followers.get(pk) for pk in platform_ids),
                "views": views,
                "views_change": _change(views, views_before),
                "engagement_rate": rate,
                "engagement_change": _change(rate, rate_before),
                "new_items": items_now,
                "new_items_change": _change(items_now, items_before),
            }
        )
    chart_list = [
        _series_chart(
            "followers",
            selectors.snapshot_series(
                account_ids=ids,
                metric="follower_count",
                start=rng.start,
                end=rng.end,
                tz=tz,
                granularity=rng.granularity,  # type: ignore[arg-type]
            ),
            names=names,
            rng=rng,
            title="Followers over time",
            y_title="followers",
            source="account counters (user info, channels, IG user)",
        ),
        _series_chart(
            "views",
            selectors.item_daily_totals(
                account_ids=ids,
                metric="view_count",
                start=rng.start,
                end=rng.end,
                granularity=rng.granularity,  # type: ignore[arg-type]
            ),
            names=names,
            rng=rng,
            title="Views per period",
            y_title="views",
            source="per-day views of each item",
        ),
    ]
    return {"cards": cards, "charts": chart_list}


def account_page(
    *, account: ConnectedAccount, rng: DateRange, tz: ZoneInfo, sort: str, page: int
) -> dict:
    ids = [account.pk]
    names = _names([account])
    granularity = rng.granularity
    chart_list = [
        _series_chart(
            "followers",
            selectors.snapshot_series(
                account_ids=ids,
                metric="follower_count",
                start=rng.start,
                end=rng.end,
                tz=tz,
                granularity=granularity,  # type: ignore[arg-type]
            ),
            names=names,
            rng=rng,
            title="Followers",
            y_title="followers",
            source="account counter",
        ),
        _series_chart(
            "daily-views",
            selectors.item_daily_totals(
                account_ids=ids,
                metric="view_count",
                start=rng.start,
                end=rng.end,
                granularity=granularity,  # type: ignore[arg-type]
            ),
            names=names,
            rng=rng,
            title="Views per period",
            y_title="views",
            source="per-day views of each item",
        ),
        _series_chart(
            "engagement",
            _engagement_points(account, rng),
            names=names,
            rng=rng,
            title="Engagement rate",
            y_title="engagement rate",
            source="(likes + comments + shares) / views per period",
            percent=True,
        ),
        _posting_chart(account, rng, tz),
    ]
    return {
        "charts": chart_list,
        "top": top_items(account=account, sort=sort, page=page),
    }


def _engagement_points(account: ConnectedAccount, rng: DateRange) -> list[Point]:
    series = {
        metric: {
            p.bucket: p.value
            for p in selectors.item_daily_totals(
                account_ids=[account.pk],
                metric=metric,
                start=rng.start,
                end=rng.end,
                granularity=rng.granularity,  # type: ignore[arg-type]
            )
        }
        for metric in ("view_count", "like_count", "comment_count", "share_count")
    }
    points = []
    for bucket, views in sorted(series["view_count"].items()):
        parts = [
            series[m].get(bucket)
            for m in ("like_count", "comment_count", "share_count")
        ]
        interactions = _sum(parts)
        if views and interactions is not None:
            points.append(Point(account.pk, bucket, round(interactions / views, 4)))
    return points


def _posting_chart(account: ConnectedAccount, rng: DateRange, tz: ZoneInfo) -> Chart:
    counts = selectors.items_published_per_bucket(
        account_id=account.pk,
        start=dt.datetime.combine(rng.start, dt.time.min, tzinfo=tz),
        end=dt.datetime.combine(rng.end, dt.time.max, tzinfo=tz),
        granularity=rng.granularity,  # type: ignore[arg-type]
        tz=tz,
    )
    xs = charts.buckets(rng.start, rng.end, rng.granularity)  # type: ignore[arg-type]
    figure = charts.bar_figure(
        [x.isoformat() for x in xs],
        [counts.get(x, 0) for x in xs],  # a count of posts is truly 0 when none
        title="Posting activity",
        y_title="items published",
        source="published_at of each item",
    )
    figure.update_xaxes(type="date")
    return Chart(
        id="posting",
        title="Posting activity",
        source="published_at of each item",
        html=charts.to_html(figure, div_id="chart-posting"),
        header=("period start", "items published"),
        rows=[(x.isoformat(), counts.get(x, 0)) for x in xs],
        empty=not counts,
    )


TOP_SORTS = {
    "views": "-views",
    "-views": "views",
    "published": "-published_at",
    "-published": "published_at",
    "title": "title",
}


def top_items(*, account: ConnectedAccount, sort: str, page: int):
    """Items with their newest view/like/comment counters, sorted and paged in SQL."""

    def latest(metric: str):
        return Subquery(
            MetricSnapshot.objects.filter(item=OuterRef("pk"), metric=metric)
            .exclude(value_int__isnull=True, value_float__isnull=True)
            .order_by("-fetched_at")
            .annotate(v=Coalesce(Cast("value_int", FloatField()), "value_float"))
            .values("v")[:1],
            output_field=FloatField(),
        )

    rows = (
        ContentItem.objects.filter(account=account)
        .annotate(
            views=latest("view_count"),
            likes=latest("like_count"),
            comments=latest("comment_count"),
            has_values=Exists(MetricSnapshot.objects.filter(item=OuterRef("pk"))),
        )
        .order_by(TOP_SORTS.get(sort, "-views"), "-published_at", "pk")
    )
    return Paginator(rows, 25).get_page(page)


def item_page(*, item: ContentItem, rng: DateRange, tz: ZoneInfo) -> dict:
    account = item.account
    names = {account.pk: item.title[:40] or item.platform_item_id}
    chart_list = []
    for metric, label in (
        ("view_count", "views"),
        ("like_count", "likes"),
        ("comment_count", "comments"),
        ("share_count", "shares"),
    ):
        cumulative = selectors.snapshot_series(
            account_ids=[account.pk],
            metric=metric,
            start=rng.start,
            end=rng.end,
            tz=tz,
            granularity=rng.granularity,
            item_id=item.pk,  # type: ignore[arg-type]
        )
        daily = selectors.daily_series(
            account_ids=[account.pk],
            metric=metric,
            start=rng.start,
            end=rng.end,
            granularity=rng.granularity,
            item_id=item.pk,  # type: ignore[arg-type]
        )
        if not cumulative and not daily:
            continue
        chart_list.append(
            _series_chart(
                f"{metric}-total",
                cumulative,
                names=names,
                rng=rng,
                title=f"Total {label}",
                y_title=label,
                source="item counter",
            )
        )
        chart_list.append(
            _series_chart(
                f"{metric}-daily",
                daily,
                names=names,
                rng=rng,
                title=f"{label.capitalize()} per period",
                y_title=label,
                source="per-day analytics",
            )
        )
    distributions = []
    for kind, title in (
        ("retention", "Audience retention"),
        ("age_gender", "Demographics"),
        ("country", "Countries"),
        ("traffic_source", "Traffic / impression sources"),
    ):
        dist = selectors.latest_distribution(
            account_id=account.pk, kind=kind, item_id=item.pk
        )
        if dist is None or not dist.data:
            continue
        labels = [str(entry.get("key")) for entry in dist.data]
        values = [entry.get("value") for entry in dist.data]
        figure = charts.bar_figure(
            labels,
            values,
            title=title,
            y_title="share",
            source=dist.source,
        )
        distributions.append(
            Chart(
                id=kind,
                title=title,
                source=f"{dist.source}, fetched {dist.fetched_at:%Y-%m-%d %H:%M} UTC",
                html=charts.to_html(figure, div_id=f"chart-{kind}"),
                header=("bucket", "value"),
                rows=list(zip(labels, values, strict=True)),
            )
        )
    return {"charts": chart_list + distributions}


def compare_page(
    *, accounts: list[ConnectedAccount], rng: DateRange, tz: ZoneInfo
) -> dict:
    ids = [a.pk for a in accounts]
    names = _names(accounts)
    chart_list = []
    for metric, label in (
        ("view_count", "views"),
        ("like_count", "likes"),
        ("comment_count", "comments"),
        ("share_count", "shares"),
    ):
        chart_list.append(
            _series_chart(
                f"compare-{metric}",
                selectors.item_daily_totals(
                    account_ids=ids,
                    metric=metric,
                    start=rng.start,
                    end=rng.end,
                    granularity=rng.granularity,  # type: ignore[arg-type]
                ),
                names=names,
                rng=rng,
                title=f"{label.capitalize()} per period",
                y_title=label,
                source="per-day values of each item",
            )
        )
    chart_list.append(
        _series_chart(
            "compare-followers",
            selectors.snapshot_series(
                account_ids=ids,
                metric="follower_count",
                start=rng.start,
                end=rng.end,
                tz=tz,
                granularity=rng.granularity,  # type: ignore[arg-type]
            ),
            names=names,
            rng=rng,
            title="Followers",
            y_title="followers",
            source="account counters",
        )
    )
    return {"charts": chart_list}


def chart_csv(chart: Chart) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(chart.header)
    writer.writerows(chart.rows)
    return buffer.getvalue()
