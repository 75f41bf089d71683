"""Pure functions that turn selector rows into plotly figures.

No request, no ORM: charts are tested on plain data. Missing buckets become
`None` so plotly draws a gap (connectgaps stays off) instead of a fake 0.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import plotly.io as pio
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from platforms.selectors import Granularity, Point, Provenance

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


#: Every figure's look; `to_html` adds it to the figure's JSON.
TEMPLATE = "plotly_white"


@functools.cache
def _template() -> dict:
    """The template as JSON, built once.

    Set on each figure, plotly validates and copies its hundreds of
    properties twice (layout, then figure): about 30 ms a chart, most of a
    chart page's time. Serialised from one copy, the JSON is the same.
    """
    return pio.templates[TEMPLATE].to_plotly_json()


def _layout(title: str, y_title: str, *, percent: bool = False) -> go.Layout:
    # The page's own <h2> names the chart; `meta` keeps the title for the
    # placeholder's aria-label without drawing it twice. The template is
    # added when the figure is serialised (`to_html`).
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
        height=340,
    )


def hover_source(provenance: Provenance | None) -> str:
    """The sources for a hover label, short enough to read."""
    if provenance is None or not provenance.sources:
        return ""
    text = ", ".join(provenance.sources)
    return text if len(text) <= 80 else f"{text[:79]}…"


def _value_format(percent: bool) -> str:
    # The axis shows percent; the hover must too (0.0523 reads as 5.23 %).
    return "%{y:.2%}" if percent else "%{y:,}"


def time_series_figure(
    points: Iterable[Point],
    *,
    names: Mapping[int, str],
    start: dt.date,
    end: dt.date,
    granularity: Granularity,
    title: str,
    y_title: str,
    provenance: Provenance | None = None,
    percent: bool = False,
    tz: ZoneInfo | None = None,
) -> go.Figure:
    """One line per account, with gaps where a bucket has no value.

    Points flagged estimated are drawn as their own dotted trace with open
    markers, named "… (estimated)", so they never pass for measured values.
    """
    timed = granularity in ("hour", "reading")
    zone = tz or dt.UTC
    by_account: dict[int, dict[dt.date | dt.datetime, Point]] = defaultdict(dict)
    for point in points:
        bucket = point.bucket
        if timed and not isinstance(bucket, dt.datetime):
            # A day value among hourly ones (YouTube next to TikTok): drawn
            # at the day's local midnight rather than dropped.
            bucket = dt.datetime.combine(bucket, dt.time(), zone)
        by_account[point.account_id][bucket] = point
    # Readings have no buckets: each line runs through its own reading times
    # (a shared axis of everyone's times would break every line into dots).
    shared = None if granularity == "reading" else buckets(start, end, granularity, tz)
    figure = go.Figure(layout=_layout(title, y_title, percent=percent))
    source = hover_source(provenance)
    extra = f" · {source}" if source else ""
    value = _value_format(percent)
    for index, account_id in enumerate(
        sorted(by_account, key=lambda a: names.get(a, ""))
    ):
        values = by_account[account_id]
        xs = shared if shared is not None else sorted(values)
        name = names.get(account_id, str(account_id))
        color = PALETTE[index % len(PALETTE)]
        marker_size = 6 if len(xs) <= 90 else 4
        labels = [axis_label(x) for x in xs]
        measured = [_y(values.get(x), estimated=False) for x in xs]
        estimated = [_y(values.get(x), estimated=True) for x in xs]
        if any(y is not None for y in measured):
            figure.add_trace(
                go.Scatter(
                    x=labels,
                    y=measured,
                    name=name,
                    # Markers always: a lone reading between gaps stays visible.
                    mode="lines+markers",
                    marker={"size": marker_size},
                    connectgaps=False,
                    line={"color": color, "width": 2},
                    hovertemplate=f"{value}<extra>%{{fullData.name}}{extra}</extra>",
                )
            )
        if any(y is not None for y in estimated):
            figure.add_trace(
                go.Scatter(
                    x=labels,
                    y=estimated,
                    name=f"{name} (estimated)",
                    mode="lines+markers",
                    marker={
                        "size": marker_size + 2,
                        "symbol": "diamond-open",
                        "color": color,
                    },
                    connectgaps=False,
                    line={"color": color, "width": 2, "dash": "dot"},
                    hovertemplate=f"{value} (estimated)"
                    f"<extra>%{{fullData.name}}{extra}</extra>",
                )
            )
    return figure


def _y(point: Point | None, *, estimated: bool) -> float | int | None:
    if point is None or point.estimated != estimated:
        return None
    return point.value


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
    estimated: bool = False,
) -> go.Figure:
    """Bars; estimated values get a hatched fill and say so in the legend."""
    figure = go.Figure(layout=_layout(title, y_title, percent=percent))
    figure.update_xaxes(type="category", automargin=True)
    marker: dict = {"color": PALETTE[0]}
    if estimated:
        marker["pattern"] = {"shape": "/"}
    figure.add_trace(
        go.Bar(
            x=list(labels),
            y=list(values),
            name=f"{y_title} (estimated)" if estimated else y_title,
            showlegend=estimated,
            marker=marker,
            hovertemplate=f"%{{x}}: {_value_format(percent)}"
            f"{' (estimated)' if estimated else ''}<extra>{source}</extra>",
        )
    )
    return figure


def to_html(figure: go.Figure, *, div_id: str) -> str:
    """A chart placeholder plus its figure as inert JSON.

    static/js/charts.js draws every placeholder once plotly.js has loaded, so
    pages carry no inline JavaScript and both scripts can be deferred.
    """
    spec = figure.to_plotly_json()
    spec["layout"]["template"] = _template()
    figure_json = pio.to_json(spec, validate=False, pretty=False)
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
