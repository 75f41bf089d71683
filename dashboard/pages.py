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
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.db.models import (
    Exists,
    F,
    FloatField,
    OuterRef,
    Subquery,
)
from django.db.models.functions import Cast, Coalesce

from dashboard import audience, charts, kpis
from dashboard.forms import DateRange
from platforms import selectors
from platforms.models import (
    ITEM_TOTAL_METRICS,
    ConnectedAccount,
    ContentItem,
    MetricSnapshot,
)
from platforms.selectors import Point, Provenance, Series


@dataclass
class Chart:
    """A figure plus the rows behind it (for CSV and for accessible tables).

    `provenance` comes from the stored rows the figure shows: their source
    endpoints, fetched-at range and estimated flags.
    """

    id: str
    title: str
    provenance: Provenance
    html: str
    header: Sequence[str]
    rows: list[Sequence[object]] = field(default_factory=list)
    empty: bool = False
    #: Why an empty chart is empty, from the stored missing values' reasons
    #: ("Likes: likes are hidden on this video"), shown instead of "no data".
    missing: str = ""


def _series_chart(
    chart_id: str,
    series: Series,
    *,
    names: dict[int, str],
    rng: DateRange,
    title: str,
    y_title: str,
    percent: bool = False,
) -> Chart:
    points = series.points
    granularity = rng.granularity
    if granularity in ("hour", "reading") and not any(
        isinstance(p.bucket, dt.datetime) for p in points
    ):
        granularity = "day"  # per-day values: one point a day even hourly
    figure = charts.time_series_figure(
        points,
        names=names,
        start=rng.start,
        end=rng.end,
        granularity=granularity,  # type: ignore[arg-type]
        title=title,
        y_title=y_title,
        provenance=series.provenance,
        percent=percent,
        tz=rng.tz,
    )
    # Sorted by line, then time: the points arrive grouped by where they
    # came from (readings first, then the estimate before them), and a CSV
    # in that order reads as if time went backwards. ISO labels sort in
    # time order, a day before the hours of that day.
    rows = sorted(
        (
            (
                names.get(p.account_id, p.account_id),
                charts.axis_label(p.bucket),
                p.value,
                "estimated" if p.estimated else "",
            )
            for p in points
        ),
        key=lambda row: (str(row[0]), row[1]),
    )
    return Chart(
        id=chart_id,
        title=title,
        provenance=series.provenance,
        html=charts.to_html(figure, div_id=f"chart-{chart_id}"),
        header=("account", "period start", y_title, "estimated"),
        rows=rows,
        empty=not points,
    )


def _names(accounts: Iterable[ConnectedAccount]) -> dict[int, str]:
    return {
        a.pk: f"{a.get_platform_display()} · "
        f"{a.handle or a.display_name or a.platform_user_id}"
        for a in accounts
    }


def _sum(values: Iterable[float | int | None]) -> float | int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


FROM_READINGS = " (from readings)"


def _per_period(
    accounts: list[ConnectedAccount],
    metric: str,
    rng: DateRange,
    tz: ZoneInfo,
    *,
    item_id: int | None = None,
) -> tuple[Series, set[int]]:
    """Per-period values of the accounts' own counter (or of one item): the
    platform's day values where it gives them (YouTube Analytics, a TikTok
    business account's tiktok.business.get days), else derived from the
    counter's readings (Instagram and other TikTok accounts give counters
    only).

    Returns the series and the accounts whose values are derived.
    """
    ids = [a.pk for a in accounts]
    granularity = rng.granularity
    daily = selectors.daily_series(
        account_ids=ids,
        metric=metric,
        start=rng.start,
        end=rng.end,
        granularity=granularity,  # type: ignore[arg-type]
        item_id=item_id,
    )
    have = {p.account_id for p in daily.points}
    rest = [pk for pk in ids if pk not in have]
    if not rest:
        return daily, set()
    derived = selectors.snapshot_deltas(
        account_ids=rest,
        metric=metric,
        start=rng.start,
        end=rng.end,
        tz=tz,
        granularity=granularity,  # type: ignore[arg-type]
        level="items" if item_id is not None else "account",
        item_id=item_id,
    )
    return _joined(daily, derived), {p.account_id for p in derived.points}


def _joined(first: Series, second: Series) -> Series:
    """Two series of different accounts as one (a part without points adds
    nothing, not even its provenance)."""
    if not second:
        return first
    if not first:
        return second
    return Series(
        first.points + second.points, first.provenance.merged(second.provenance)
    )


#: How per-period parts derived from the item totals are described.
FROM_ITEM_TOTALS = (
    "derived from readings: the last total of the items' latest readings in "
    "each period minus the last total of the period before"
)


def _engagement_parts(
    accounts: list[ConnectedAccount], rng: DateRange, tz: ZoneInfo
) -> dict[str, tuple[Series, set[int]]]:
    """Views, likes, comments and shares per period of every account.

    Each account's four come from one place, the first that has its views
    in the range: its own day values (a YouTube channel's Analytics rows, a
    TikTok business account's days), its items' day values, or else the
    growth of the item totals each collection run stores (counters only).
    Every step is one query for all metrics and accounts, and the totals
    are one row per run, so the cost does not follow the number of items.

    Returns per metric the series and the accounts whose values are derived.
    """
    metrics = kpis.ENGAGEMENT_METRICS
    kwargs = {
        "metrics": metrics,
        "start": rng.start,
        "end": rng.end,
        "granularity": rng.granularity,
        "anchor": "view_count",
    }
    rest = [a.pk for a in accounts]
    found = {metric: Series([], Provenance()) for metric in metrics}
    for level in ("account", "items"):
        days = selectors.daily_series_by_metric(account_ids=rest, level=level, **kwargs)
        found = {metric: _joined(found[metric], days[metric]) for metric in metrics}
        have = {p.account_id for p in days["view_count"].points}
        rest = [pk for pk in rest if pk not in have]
        if not rest:
            return {metric: (series, set()) for metric, series in found.items()}
    totals = selectors.snapshot_deltas_by_metric(
        account_ids=rest,
        metrics=[ITEM_TOTAL_METRICS[metric] for metric in metrics],
        start=rng.start,
        end=rng.end,
        tz=tz,
        granularity=rng.granularity,  # type: ignore[arg-type]
        level="account",
        derived=FROM_ITEM_TOTALS,
    )
    parts = {}
    for metric in metrics:
        derived = totals[ITEM_TOTAL_METRICS[metric]]
        parts[metric] = (
            _joined(found[metric], derived),
            {p.account_id for p in derived.points},
        )
    return parts


def _label_derived(names: dict[int, str], derived: set[int]) -> dict[int, str]:
    """Legend names that say which lines are derived from readings."""
    return {
        pk: f"{name}{FROM_READINGS}" if pk in derived else name
        for pk, name in names.items()
    }


def overview_page(
    *, accounts: list[ConnectedAccount], rng: DateRange, tz: ZoneInfo
) -> dict:
    ids = [a.pk for a in accounts]
    names = _names(accounts)
    platforms, _ = kpis.kpi_rows(accounts=accounts, rng=rng, tz=tz, names=names)
    chart_list = [
        _followers_chart(accounts, rng, tz, title="Followers over time"),
        _series_chart(
            "views",
            selectors.snapshot_series(
                account_ids=ids,
                metric="view_count",
                start=rng.start,
                end=rng.end,
                tz=tz,
                granularity=rng.granularity,  # type: ignore[arg-type]
            ),
            names=names,
            rng=rng,
            title="Total views over time",
            y_title="views",
        ),
    ]
    return {"cards": platforms, "charts": chart_list}


def account_page(
    *, account: ConnectedAccount, rng: DateRange, tz: ZoneInfo, sort: str, page: int
) -> dict:
    names = _names([account])
    views, views_derived = _per_period([account], "view_count", rng, tz)
    gains = selectors.daily_series(
        account_ids=[account.pk],
        metric="follower_gain",
        start=rng.start,
        end=rng.end,
        granularity=rng.granularity,  # type: ignore[arg-type]
    )
    gains_derived: set[int] = set()
    if not gains:
        # No day values of new followers: the follower count's net change.
        gains = selectors.snapshot_deltas(
            account_ids=[account.pk],
            metric="follower_count",
            start=rng.start,
            end=rng.end,
            tz=tz,
            granularity=rng.granularity,  # type: ignore[arg-type]
            level="account",
            derived="derived from readings: net change of the follower count "
            "between the last readings of consecutive periods",
        )
        gains_derived = {p.account_id for p in gains.points}
    engagement, engagement_derived = _engagement(
        [account], rng, tz, title="Engagement rate", chart_id="engagement"
    )
    chart_list = [
        _followers_chart([account], rng, tz, title="Followers"),
        _series_chart(
            "daily-views",
            views,
            names=_label_derived(names, views_derived),
            rng=rng,
            title="Views per period",
            y_title="views",
        ),
        _series_chart(
            "follower-gain",
            gains,
            names=_label_derived(names, gains_derived),
            rng=rng,
            title="New followers per period",
            y_title="new followers",
        ),
        engagement,
        _posting_chart(account, rng, tz),
        *_distributions(account.pk, ACCOUNT_DISTRIBUTIONS, id_prefix="audience-"),
    ]
    return {
        "charts": chart_list,
        "top": top_items(account=account, sort=sort, page=page),
        "top_columns": top_columns(sort),
    }


def _period_start(day: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())  # ISO weeks, as TruncWeek
    if granularity == "month":
        return day.replace(day=1)
    return day


def _end_of_period(points: list[Point], granularity: str) -> list[Point]:
    """Daily estimates as weekly or monthly ones: each period's last day, as
    a follower reading stands for the period it ends (daily: unchanged)."""
    if granularity == "day":
        return points
    last: dict[tuple[int, dt.date], Point] = {}
    for point in sorted(points, key=lambda p: (p.account_id, p.bucket)):
        bucket = _period_start(point.bucket, granularity)  # type: ignore[arg-type]
        last[(point.account_id, bucket)] = replace(point, bucket=bucket)
    return list(last.values())


def _followers_chart(
    accounts: list[ConnectedAccount], rng: DateRange, tz: ZoneInfo, *, title: str
) -> Chart:
    """Follower readings, and before the first one an estimate from daily gains."""
    ids = [a.pk for a in accounts]
    series = selectors.snapshot_series(
        account_ids=ids,
        metric="follower_count",
        start=rng.start,
        end=rng.end,
        tz=tz,
        granularity=rng.granularity,  # type: ignore[arg-type]
    )
    if rng.granularity in ("day", "week", "month"):
        # Estimated points are flagged, so the figure draws them as their
        # own labelled trace and a reader never mistakes them for readings.
        estimate = selectors.follower_history_estimate(
            account_ids=ids, start=rng.start, end=rng.end, tz=tz
        )
        if estimate:
            points = _end_of_period(estimate.points, rng.granularity)
            measured = {(p.account_id, p.bucket) for p in series.points}
            series = Series(
                series.points
                + [p for p in points if (p.account_id, p.bucket) not in measured],
                series.provenance.merged(estimate.provenance),
            )
    return _series_chart(
        "followers",
        series,
        names=_names(accounts),
        rng=rng,
        title=title,
        y_title="followers",
    )


def _engagement(
    accounts: list[ConnectedAccount],
    rng: DateRange,
    tz: ZoneInfo,
    *,
    title: str,
    chart_id: str,
    found: dict[str, tuple[Series, set[int]]] | None = None,
) -> tuple[Chart, set[int]]:
    """(likes + comments + shares) / views of each period, per account.

    `found` holds the per-period series of the four metrics when the caller
    has them already.
    """
    found = found or _engagement_parts(accounts, rng, tz)
    by_metric = {
        metric: {(p.account_id, p.bucket): p for p in series.points}
        for metric, (series, _) in found.items()
    }
    points = []
    for key, views in sorted(by_metric["view_count"].items()):
        parts = [by_metric[m].get(key) for m in kpis.INTERACTIONS]
        interactions = _sum(p.value for p in parts if p is not None)
        if views.value and interactions is not None:
            points.append(
                Point(
                    key[0],
                    key[1],
                    round(interactions / views.value, 4),
                    views.estimated or any(p.estimated for p in parts if p),
                )
            )
    provenances = [series.provenance for series, _ in found.values()]
    derived = set().union(*(d for _, d in found.values()))
    provenance = provenances[0].merged(*provenances[1:])
    text = "(likes + comments + shares) / views of each period"
    if provenance.derived:
        text = f"{text}; {provenance.derived}"
    chart = _series_chart(
        chart_id,
        Series(points, replace(provenance, derived=text)),
        names=_label_derived(_names(accounts), derived),
        rng=rng,
        title=title,
        y_title="engagement rate",
        percent=True,
    )
    return chart, derived


def _posting_chart(account: ConnectedAccount, rng: DateRange, tz: ZoneInfo) -> Chart:
    counts, provenance = selectors.items_published_per_bucket(
        account_id=account.pk,
        start=dt.datetime.combine(rng.start, dt.time.min, tzinfo=tz),
        end=dt.datetime.combine(rng.end, dt.time.max, tzinfo=tz),
        granularity=rng.granularity,  # type: ignore[arg-type]
        tz=tz,
    )
    xs = charts.buckets(rng.start, rng.end, rng.granularity, rng.tz)  # type: ignore[arg-type]
    figure = charts.bar_figure(
        [charts.axis_label(x) for x in xs],
        [counts.get(x, 0) for x in xs],  # a count of posts is truly 0 when none
        title="Posting activity",
        y_title="items published",
        source=charts.hover_source(provenance),
    )
    figure.update_xaxes(type="date")
    # Whole items: no 0.5 ticks on a small count.
    figure.update_yaxes(tickformat=",d", rangemode="tozero")
    if max(counts.values(), default=0) <= 5:
        figure.update_yaxes(dtick=1)
    return Chart(
        id="posting",
        title="Posting activity",
        provenance=provenance,
        html=charts.to_html(figure, div_id="chart-posting"),
        header=("period start", "items published"),
        rows=[(charts.axis_label(x), counts.get(x, 0)) for x in xs],
        empty=not counts,
    )


@dataclass(frozen=True, slots=True)
class SortColumn:
    """A sortable column of the top-content table."""

    key: str  # the ?sort= value for the column's natural order
    label: str
    field: str
    #: The natural order: most first for counts, newest first, A to Z.
    descending: bool
    numeric: bool = False


TOP_COLUMNS = (
    SortColumn("title", "Title", "title", descending=False),
    SortColumn("published", "Published", "published_at", descending=True),
    SortColumn("views", "Views", "views", descending=True, numeric=True),
    SortColumn("likes", "Likes", "likes", descending=True, numeric=True),
    SortColumn("comments", "Comments", "comments", descending=True, numeric=True),
)
DEFAULT_SORT = "views"


def _parse_sort(sort: str) -> tuple[SortColumn, bool]:
    """The column and whether it is reversed ("-views": fewest views first)."""
    reverse = sort.startswith("-")
    for column in TOP_COLUMNS:
        if column.key == sort.lstrip("-"):
            return column, reverse
    return _parse_sort(DEFAULT_SORT)


def top_columns(sort: str) -> list[dict]:
    """Each header's link (the other direction when it is the current sort)
    and its aria-sort, for the template."""
    current, reverse = _parse_sort(sort)
    out = []
    for column in TOP_COLUMNS:
        active = column is current
        descending = column.descending != (reverse and active)
        out.append(
            {
                "column": column,
                "link": f"-{column.key}" if active and not reverse else column.key,
                "aria_sort": ("descending" if descending else "ascending")
                if active
                else "",
            }
        )
    return out


def top_items(*, account: ConnectedAccount, sort: str, page: int):
    """Items with their newest view/like/comment counters, sorted and paged in SQL.

    Items without a value sort last in either direction.
    """

    def latest(metric: str):
        return Subquery(
            MetricSnapshot.objects.filter(item=OuterRef("pk"), metric=metric)
            .exclude(value_int__isnull=True, value_float__isnull=True)
            .order_by("-fetched_at")
            .annotate(v=Coalesce(Cast("value_int", FloatField()), "value_float"))
            .values("v")[:1],
            output_field=FloatField(),
        )

    column, reverse = _parse_sort(sort)
    descending = column.descending != reverse
    order = F(column.field)
    order = order.desc(nulls_last=True) if descending else order.asc(nulls_last=True)
    rows = (
        ContentItem.objects.filter(account=account)
        .annotate(
            views=latest("view_count"),
            likes=latest("like_count"),
            comments=latest("comment_count"),
            has_values=Exists(MetricSnapshot.objects.filter(item=OuterRef("pk"))),
        )
        .order_by(order, "-published_at", "pk")
    )
    return Paginator(rows, 25).get_page(page)


def _missing_reasons(
    item: ContentItem, metrics: Sequence[str], rng: DateRange, tz: ZoneInfo
) -> dict[str, str]:
    """Per metric, the newest reason the platform gave no value in the range.

    A hidden like count is stored as NULL with its reason (the collectors
    never write 0 for it); the selectors skip those rows, so the chart alone
    cannot say why it is empty.
    """
    start = dt.datetime.combine(rng.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(rng.end, dt.time.max, tzinfo=tz)
    rows = (
        MetricSnapshot.objects.filter(
            item=item,
            metric__in=metrics,
            value_int__isnull=True,
            value_float__isnull=True,
            fetched_at__range=(start, end),
        )
        .exclude(missing_reason="")
        .order_by("metric", "-fetched_at")
        .values_list("metric", "missing_reason")
    )
    reasons: dict[str, str] = {}
    for metric, reason in rows:
        reasons.setdefault(metric, reason)
    return reasons


def _with_reason(chart: Chart, label: str, reason: str) -> Chart:
    if not chart.empty or not reason:
        return chart
    text = f"{label.capitalize()}: {reason} (the platform gives no value)."
    return replace(chart, missing=text)


ITEM_METRICS = (
    ("view_count", "views"),
    ("like_count", "likes"),
    ("comment_count", "comments"),
    ("share_count", "shares"),
)
#: Graph's insights beyond the four counters: a story has no likes or
#: comments at all, its reach and replies are what it has.
INSTAGRAM_ITEM_METRICS = (
    ("reach", "accounts reached"),
    ("saved", "saves"),
    ("replies", "replies"),
    ("total_interactions", "interactions"),
    ("follows", "follows"),
    ("profile_visits", "profile visits"),
)


def item_metrics(item: ContentItem) -> tuple[tuple[str, str], ...]:
    if item.account.platform == "instagram":
        return ITEM_METRICS + INSTAGRAM_ITEM_METRICS
    return ITEM_METRICS


def item_page(*, item: ContentItem, rng: DateRange, tz: ZoneInfo) -> dict:
    account = item.account
    names = {account.pk: item.label[:40]}
    metrics = item_metrics(item)
    reasons = _missing_reasons(item, [m for m, _ in metrics], rng, tz)
    chart_list = []
    for metric, label in metrics:
        cumulative = selectors.snapshot_series(
            account_ids=[account.pk],
            metric=metric,
            start=rng.start,
            end=rng.end,
            tz=tz,
            granularity=rng.granularity,  # type: ignore[arg-type]
            item_id=item.pk,
        )
        per_period, derived = _per_period([account], metric, rng, tz, item_id=item.pk)
        reason = reasons.get(metric, "")
        if not cumulative and not per_period and not reason:
            continue
        # Day values without readings (YouTube's shares, which have no
        # counter, or a range before the account was connected): an empty
        # "Total" beside them would claim data is still to come.
        if cumulative or reason or not per_period:
            chart_list.append(
                _with_reason(
                    _series_chart(
                        f"{metric}-total",
                        cumulative,
                        names=names,
                        rng=rng,
                        title=f"Total {label}",
                        y_title=label,
                    ),
                    label,
                    reason,
                )
            )
        chart_list.append(
            _with_reason(
                _series_chart(
                    f"{metric}-daily",
                    per_period,
                    names=_label_derived(names, derived),
                    rng=rng,
                    title=f"{label.capitalize()} per period",
                    y_title=label,
                ),
                label,
                reason,
            )
        )
    distributions = _distributions(item.account_id, ITEM_DISTRIBUTIONS, item_id=item.pk)
    return {"charts": chart_list + distributions}


ITEM_DISTRIBUTIONS = (
    ("retention", "Audience retention"),
    ("age_gender", "Demographics"),
    ("country", "Countries"),
    ("traffic_source", "Traffic / impression sources"),
)
#: The account's whole audience: YouTube's channel reports, Instagram's
#: follower demographics, a TikTok business account's audience.
ACCOUNT_DISTRIBUTIONS = (
    ("age_gender", "Audience demographics"),
    ("country", "Audience by country"),
    ("city", "Audience by city"),
    ("traffic_source", "Traffic / impression sources"),
    ("activity", "Audience activity by hour"),
)


def _distributions(
    account_id: int,
    kinds: Sequence[tuple[str, str]],
    *,
    item_id: int | None = None,
    id_prefix: str = "",
) -> list[Chart]:
    """Bar charts of the newest stored distribution of each kind (account
    level without `item_id`)."""
    out = []
    for kind, title in kinds:
        dist = selectors.latest_distribution(
            account_id=account_id, kind=kind, item_id=item_id
        )
        if dist is None or not dist.data:
            continue
        chart_id = f"{id_prefix}{kind}"
        pairs = audience.rows(kind, dist.data)
        labels = [label for label, _ in pairs]
        values = [value for _, value in pairs]
        unit = audience.unit_for(dist.source, kind)
        provenance = Provenance(
            sources=(dist.source,),
            first_fetched=dist.fetched_at,
            last_fetched=dist.fetched_at,
            estimated=dist.estimated,
        )
        figure = charts.bar_figure(
            labels,
            values,
            title=title,
            y_title=unit.title,
            percent=unit.fraction,
            source=charts.hover_source(provenance),
            estimated=dist.estimated,
        )
        if kind == "retention":
            # YouTube's elapsedVideoTimeRatio: 0.01 is the video's first 1 %.
            figure.update_xaxes(title_text="share of the video elapsed")
        out.append(
            Chart(
                id=chart_id,
                title=title,
                provenance=provenance,
                html=charts.to_html(figure, div_id=f"chart-{chart_id}"),
                header=("bucket", "value"),
                rows=list(zip(labels, values, strict=True)),
            )
        )
    return out


def compare_page(
    *, accounts: list[ConnectedAccount], rng: DateRange, tz: ZoneInfo
) -> dict:
    """Every platform and account side by side on the standard metrics."""
    names = _names(accounts)
    platforms, per_account = kpis.kpi_rows(
        accounts=accounts, rng=rng, tz=tz, names=names
    )
    chart_list = []
    found = _engagement_parts(accounts, rng, tz)
    for metric, label in (
        ("view_count", "views"),
        ("like_count", "likes"),
        ("comment_count", "comments"),
        ("share_count", "shares"),
    ):
        series, derived = found[metric]
        chart_list.append(
            _series_chart(
                f"compare-{metric}",
                series,
                names=_label_derived(names, derived),
                rng=rng,
                title=f"{label.capitalize()} per period",
                y_title=label,
            )
        )
    engagement, _ = _engagement(
        accounts,
        rng,
        tz,
        title="Engagement rate per period",
        chart_id="compare-engagement",
        found=found,
    )
    chart_list.append(engagement)
    chart_list.append(
        _series_chart(
            "compare-followers",
            selectors.snapshot_series(
                account_ids=[a.pk for a in accounts],
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
        )
    )
    return {
        "platform_rows": platforms,
        "account_rows": per_account,
        "charts": chart_list,
    }


def chart_csv(chart: Chart) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(chart.header)
    writer.writerows(chart.rows)
    return buffer.getvalue()
