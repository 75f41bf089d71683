"""Pure functions that turn selector rows into plotly figures.

No request, no ORM: charts are tested on plain data. Missing buckets become
`None` so plotly draws a gap (connectgaps stays off) instead of a fake 0.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from platforms.selectors import Granularity, Point

PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7c3aed", "#be123c", "#0e7490"]


def buckets(
    start: dt.date,
    end: dt.date,
    granularity: Granularity,
    tz: ZoneInfo | None = None,
) -> list[dt.date] | list[dt.datetime]:
    """Every bucket start between start and end, as the selectors cut them."""
    if granularity == "reading":
        granularity = "day"  # readings have no buckets; count days around them
    if granularity == "hour":
        zone = tz or dt.UTC
        # Step in UTC: a DST day has 23 or 25 local hours, all of them real.
        first = dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC)
        stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
        hours = int((stop.astimezone(dt.UTC) - first).total_seconds() // 3600)
        return [(first + dt.timedelta(hours=h)).astimezone(zone) for h in range(hours)]
    if granularity == "month":
        first = start.replace(day=1)
        out = []
        while first <= end:
            out.append(first)
            first = (first + dt.timedelta(days=32)).replace(day=1)
        return out
    step = 7 if granularity == "week" else 1
    first = start - dt.timedelta(days=start.weekday()) if step == 7 else start
    return [
        first + dt.timedelta(days=i) for i in range(0, (end - first).days + 1, step)
    ]


def _layout(title: str, y_title: str, *, percent: bool = False) -> go.Layout:
    # The page's own <h2> names the chart; `meta` keeps the title for the
    # placeholder's aria-label without drawing it twice.
    return go.Layout(
        meta={"title": title},
        margin={"l": 56, "r": 16, "t": 16, "b": 40},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.2},
        yaxis={
            "title": y_title,
            "rangemode": "tozero",
            **({"tickformat": ".1%"} if percent else {}),
        },
        xaxis={"type": "date"},
        template="plotly_white",
        height=340,
    )


def time_series_figure(
    points: Iterable[Point],
    *,
    names: Mapping[int, str],
    start: dt.date,
    end: dt.date,
    granularity: Granularity,
    title: str,
    y_title: str,
    source: str,
    percent: bool = False,
    tz: ZoneInfo | None = None,
) -> go.Figure:
    """One line per account, with gaps where a bucket has no value."""
    by_account: dict[int, dict[dt.date | dt.datetime, float | int]] = defaultdict(dict)
    for point in points:
        by_account[point.account_id][point.bucket] = point.value
    # Readings have no buckets: each line runs through its own reading times
    # (a shared axis of everyone's times would break every line into dots).
    shared = None if granularity == "reading" else buckets(start, end, granularity, tz)
    figure = go.Figure(layout=_layout(title, y_title, percent=percent))
    for index, account_id in enumerate(
        sorted(by_account, key=lambda a: names.get(a, ""))
    ):
        values = by_account[account_id]
        xs = shared if shared is not None else sorted(values)
        figure.add_trace(
            go.Scatter(
                x=[axis_label(x) for x in xs],
                y=[values.get(x) for x in xs],
                name=names.get(account_id, str(account_id)),
                # Markers always: a lone reading between gaps stays visible.
                mode="lines+markers",
                marker={"size": 6 if len(xs) <= 90 else 4},
                connectgaps=False,
                line={"color": PALETTE[index % len(PALETTE)], "width": 2},
                hovertemplate=f"%{{y:,}}<extra>%{{fullData.name}} · {source}</extra>",
            )
        )
    return figure


def axis_label(x: dt.date | dt.datetime) -> str:
    """Plotly reads wall-clock times: drop the offset, keep the local time."""
    if isinstance(x, dt.datetime):
        return x.replace(tzinfo=None).isoformat(timespec="minutes")
    return x.isoformat()


def bar_figure(
    labels: Sequence[str],
    values: Sequence[float | int | None],
    *,
    title: str,
    y_title: str,
    source: str,
    percent: bool = False,
) -> go.Figure:
    figure = go.Figure(layout=_layout(title, y_title, percent=percent))
    figure.update_xaxes(type="category")
    figure.add_trace(
        go.Bar(
            x=list(labels),
            y=list(values),
            marker_color=PALETTE[0],
            hovertemplate=f"%{{x}}: %{{y:,}}<extra>{source}</extra>",
        )
    )
    return figure


def to_html(figure: go.Figure, *, div_id: str) -> str:
    """A chart placeholder plus its figure as inert JSON.

    static/js/charts.js draws every placeholder once plotly.js has loaded, so
    pages carry no inline JavaScript and both scripts can be deferred.
    """
    figure_json = pio.to_json(figure, validate=False, pretty=False)
    return format_html(
        '<div id="{}" class="plotly-chart" data-figure="{}-data" role="img" '
        'aria-label="{}"></div>'
        '<script id="{}-data" type="application/json">{}</script>',
        div_id,
        div_id,
        (figure.layout.meta or {}).get("title", "chart"),
        div_id,
        mark_safe(figure_json.translate(_JSON_SCRIPT_ESCAPES)),
    )


# The same escapes as django.utils.html.json_script: the JSON cannot close
# the <script> element or open a comment.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
