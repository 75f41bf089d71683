"""YouTube Analytics API v2 reports: one video's totals, retention, demographics.

Reports are tables: `columnHeaders` name each column and rows are
positional, so values are read by header name. INTEGER columns may arrive
as floats (`0.0`); they are converted exactly, and a fraction is refused.
Metrics that need extra scopes (revenue needs yt-analytics-monetary) are
asked in their own report, so a refusal marks only them unavailable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from platforms.exceptions import PlatformAuthError
from platforms.metrics import (
    METRIC_MAPPINGS,
    UNAVAILABLE,
    MetricResult,
    engagement_rate,
    to_float,
    to_int,
)

if TYPE_CHECKING:
    from platforms.clients.youtube import YouTubeClient

ENDPOINT = "youtube.analytics.reports"
MAPPING = METRIC_MAPPINGS["youtube"]
# Standard names answered by the one totals report.
TOTALS = {
    "views",
    "likes",
    "comments",
    "shares",
    "watch_time",
    "average_view_duration",
    "average_view_percentage",
    "subscriber_gain",
    "subscriber_loss",
    "playlist_adds",
}
NO_ROWS = "YouTube Analytics has no data for this video and period (data lags 2-3 days)"


def parse_report(client: YouTubeClient, body: Any) -> list[dict[str, Any]]:
    """Rows of a resultTable as dicts keyed by column name, values converted."""
    if not isinstance(body, dict) or not isinstance(body.get("columnHeaders"), list):
        raise client.data_error(ENDPOINT, "reply without columnHeaders")
    headers = body["columnHeaders"]
    for header in headers:
        if not isinstance(header, dict) or not isinstance(header.get("name"), str):
            raise client.data_error(ENDPOINT, "bad column header", header=header)
    rows = body.get("rows") or []
    if not isinstance(rows, list):
        raise client.data_error(ENDPOINT, "rows is not a list")
    table = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(headers):
            raise client.data_error(ENDPOINT, "row does not match the headers", row=row)
        record: dict[str, Any] = {}
        for header, value in zip(headers, row, strict=True):
            name, kind = header["name"], header.get("dataType")
            if value is None:
                record[name] = None
            elif kind == "INTEGER":
                record[name] = to_int(value, field=name)
            elif kind == "FLOAT":
                record[name] = to_float(value, field=name)
            else:
                record[name] = value
        table.append(record)
    return table


def collect_analytics(
    client: YouTubeClient,
    *,
    video_id: str,
    metrics: list[str],
    start_date: str,
    end_date: str,
) -> dict[str, Any]:
    """The standard result for `metrics` of one video between two dates."""
    result = MetricResult(platform="youtube", id_key="video_id", item_id=video_id)
    base = {
        "startDate": start_date,
        "endDate": end_date,
        "filters": f"video=={video_id}",
    }
    needed = {m for m in metrics if m in TOTALS}
    if "engagement_rate" in metrics:
        needed |= {"views", "likes", "comments"}
    if needed:
        fields = sorted(MAPPING[name] for name in needed)
        rows = parse_report(
            client, client.report({**base, "metrics": ",".join(fields)})
        )
        totals = rows[0] if rows else None
        for name in needed:
            value = totals.get(MAPPING[name]) if totals else None
            if value is None:
                result.missing(name, NO_ROWS)
            else:
                result.put(name, value, source=ENDPOINT)
    if "engagement_rate" in metrics:
        counts = {
            "like_count": result.metrics.get("likes"),
            "comment_count": result.metrics.get("comments"),
            "view_count": result.metrics.get("views"),
        }
        rate, reason = engagement_rate("youtube", counts)
        if rate is None:
            result.missing("engagement_rate", reason)
        else:
            result.put("engagement_rate", rate, source="derived")
    if "revenue" in metrics:
        _revenue(client, result, base)
    if "audience_retention" in metrics:
        rows = parse_report(
            client,
            client.report(
                {
                    **base,
                    "dimensions": "elapsedVideoTimeRatio",
                    "metrics": "audienceWatchRatio,relativeRetentionPerformance",
                }
            ),
        )
        _put_series(result, "audience_retention", rows)
    if "demographics" in metrics:
        rows = parse_report(
            client,
            client.report(
                {**base, "dimensions": "ageGroup,gender", "metrics": "viewerPercentage"}
            ),
        )
        _put_series(result, "demographics", rows)
    for name in metrics:
        if name in UNAVAILABLE["youtube"]:
            result.missing(name, UNAVAILABLE["youtube"][name])
    out = result.as_dict()
    for name in metrics:
        if name not in out["metrics"]:
            out["metrics"][name] = None
            out["unavailable"][name] = f"unknown YouTube Analytics metric {name!r}"
    out["metrics"] = {k: v for k, v in out["metrics"].items() if k in metrics}
    out["unavailable"] = {k: v for k, v in out["unavailable"].items() if k in metrics}
    out["period"] = {"start_date": start_date, "end_date": end_date}
    return out


def _revenue(client: YouTubeClient, result: MetricResult, base: dict[str, str]) -> None:
    try:
        rows = parse_report(
            client, client.report({**base, "metrics": "estimatedRevenue"})
        )
    except PlatformAuthError as error:
        result.missing(
            "revenue",
            "needs the yt-analytics-monetary.readonly scope and a monetised "
            f"channel ({error.reason or error.code})",
        )
        return
    value = rows[0].get("estimatedRevenue") if rows else None
    if value is None:
        result.missing("revenue", NO_ROWS)
    else:
        result.put("revenue", value, source=ENDPOINT)


def _put_series(result: MetricResult, name: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        result.put(name, rows, source=ENDPOINT)
    else:
        result.missing(name, NO_ROWS)
