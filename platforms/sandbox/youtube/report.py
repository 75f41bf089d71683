"""YouTube Analytics API v2 `reports.query`: a result table built on demand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core.world import DAY, Account, Item, unit

if TYPE_CHECKING:
    from ..app import Sandbox

YT = "https://www.googleapis.com/auth/"
INTEGER = {
    "views", "redViews", "comments", "likes", "dislikes", "shares",
    "videosAddedToPlaylists", "videosRemovedFromPlaylists",
    "estimatedMinutesWatched", "estimatedRedMinutesWatched", "averageViewDuration",
    "subscribersGained", "subscribersLost", "monetizedPlaybacks", "adImpressions",
    "annotationImpressions", "annotationClickableImpressions",
    "annotationClosableImpressions", "annotationClicks", "annotationCloses",
    "cardImpressions", "cardTeaserImpressions", "cardClicks", "cardTeaserClicks",
}  # fmt: skip
FLOAT = {
    "averageViewPercentage", "annotationClickThroughRate", "annotationCloseRate",
    "cardClickRate", "cardTeaserClickRate", "estimatedRevenue", "estimatedAdRevenue",
    "grossRevenue", "estimatedRedPartnerRevenue", "playbackBasedCpm", "cpm",
    "viewerPercentage", "audienceWatchRatio", "relativeRetentionPerformance",
}  # fmt: skip
MONETARY = {
    "estimatedRevenue", "estimatedAdRevenue", "grossRevenue",
    "estimatedRedPartnerRevenue", "monetizedPlaybacks", "playbackBasedCpm",
    "adImpressions", "cpm",
}  # fmt: skip
# The column type of each dimension, as the real API labels it: every dimension
# is a STRING except the retention curve's position, which is a FLOAT (0.01-1.0).
DIMENSIONS = {
    "day": "STRING", "month": "STRING", "video": "STRING", "country": "STRING",
    "ageGroup": "STRING", "gender": "STRING", "insightTrafficSourceType": "STRING",
    "elapsedVideoTimeRatio": "FLOAT",
}  # fmt: skip
# Per-view ratios of the count metrics.
RATIOS = {
    "redViews": 0.08, "comments": 0.004, "likes": 0.035, "dislikes": 0.002,
    "shares": 0.003, "videosAddedToPlaylists": 0.004,
    "videosRemovedFromPlaylists": 0.001, "estimatedMinutesWatched": 1.8,
    "estimatedRedMinutesWatched": 0.15, "subscribersGained": 0.004,
    "subscribersLost": 0.001, "monetizedPlaybacks": 0.25, "adImpressions": 0.3,
    "cardImpressions": 0.02, "cardTeaserImpressions": 0.03, "cardClicks": 0.0004,
    "cardTeaserClicks": 0.0005,
}  # fmt: skip


class ReportError(Exception):
    def __init__(self, status: int, message: str, reason: str = "badRequest") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.state = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED"}.get(status)


class AnalyticsReport:
    """Builds one result table from the query parameters."""

    def __init__(
        self,
        sandbox: Sandbox,
        account: Account,
        scopes: list[str],
        query: dict[str, str],
    ) -> None:
        self.sb = sandbox
        self.world = sandbox.world
        self.account = account
        self.scopes = scopes
        self.query = query
        self.now = sandbox.clock.now()

    def build(self) -> dict[str, Any]:
        q = self.query
        for name in ("ids", "startDate", "endDate", "metrics"):
            if not q.get(name):
                raise ReportError(400, f"Required parameter: {name}", "required")
        if q["ids"] not in {"channel==MINE", f"channel=={self.account.external_id}"}:
            raise ReportError(403, "Forbidden", "forbidden")
        try:
            start, end = (
                date.fromisoformat(q["startDate"]),
                date.fromisoformat(q["endDate"]),
            )
        except ValueError as exc:
            raise ReportError(400, "Invalid value for startDate or endDate.") from exc
        if end < start:
            raise ReportError(
                400, "The query is not supported: endDate is before startDate."
            )
        metrics = [m for m in q["metrics"].split(",") if m]
        dims = [d for d in q.get("dimensions", "").split(",") if d]
        for metric in metrics:
            if metric not in INTEGER and metric not in FLOAT:
                raise ReportError(
                    400,
                    f"Unknown identifier ({metric}) given in field parameters.metrics.",
                )
        for dim in dims:
            if dim not in DIMENSIONS:
                raise ReportError(
                    400,
                    f"Unknown identifier ({dim}) given in field parameters.dimensions.",
                )
        if (
            MONETARY & set(metrics)
            and YT + "yt-analytics-monetary.readonly" not in self.scopes
        ):
            raise ReportError(403, "Forbidden", "forbidden")
        videos = self._filter_videos()
        demographic = {"ageGroup", "gender"} & set(dims)
        if demographic and metrics != ["viewerPercentage"]:
            raise ReportError(
                400,
                (
                    "The query is not supported. ageGroup and gender require "
                    "viewerPercentage."
                ),
            )
        if "viewerPercentage" in metrics and not demographic:
            raise ReportError(
                400,
                (
                    "The query is not supported. viewerPercentage requires ageGroup or "
                    "gender."
                ),
            )
        if "elapsedVideoTimeRatio" in dims and (
            len(videos or []) != 1 or dims != ["elapsedVideoTimeRatio"]
        ):
            raise ReportError(
                400,
                (
                    "The query is not supported. Audience retention needs "
                    "filters=video==ID for one video."
                ),
            )
        headers = [
            {"name": d, "columnType": "DIMENSION", "dataType": DIMENSIONS[d]}
            for d in dims
        ] + [
            {
                "name": m,
                "columnType": "METRIC",
                "dataType": "INTEGER" if m in INTEGER else "FLOAT",
            }
            for m in metrics
        ]
        table: dict[str, Any] = {
            "kind": "youtubeAnalytics#resultTable",
            "columnHeaders": headers,
        }
        last_day = datetime.fromtimestamp(
            self.now - self.world.analytics_lag, UTC
        ).date()
        if videos is not None and all(
            v.posted_at > self.now - self.world.analytics_lag for v in videos
        ):
            # Brand-new videos have no data yet: the reply has no `rows` at all.
            return table
        rows = self._rows(dims, metrics, start, min(end, last_day), videos)
        rows = self._sort_and_page(rows, dims + metrics)
        if rows:
            table["rows"] = rows
        return table

    def _filter_videos(self) -> list[Item] | None:
        text = self.query.get("filters", "")
        if not text:
            return None
        name, _, values = text.partition("==")
        if name != "video":
            if name in {"country", "insightTrafficSourceType", "subscribedStatus"}:
                return None
            raise ReportError(
                400, f"Unknown identifier ({name}) given in field parameters.filters."
            )
        items = []
        for vid in values.split(","):
            item = self.world.item_by_external("youtube", vid)
            if item is None or item.account.id != self.account.id:
                raise ReportError(403, "Forbidden", "forbidden")
            items.append(item)
        return items

    # --- rows -------------------------------------------------------------

    def _days(self, start: date, end: date) -> list[date]:
        days = []
        day = start
        while day <= end:
            days.append(day)
            day += timedelta(days=1)
        return days

    def _views_on(self, day: date, videos: list[Item] | None) -> float:
        begin = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        if videos is None:
            return self.world.daily_value(self.account, "views", begin)
        return sum(v.views_between(begin, begin + DAY) for v in videos)

    def _rows(
        self,
        dims: list[str],
        metrics: list[str],
        start: date,
        end: date,
        videos: list[Item] | None,
    ) -> list[list[Any]]:
        days = self._days(start, end)
        if not days:
            return []
        if dims == ["elapsedVideoTimeRatio"]:
            assert videos is not None
            return self._retention(videos[0], metrics)
        groups: list[tuple[list[str], float]] = [([], 1.0)]
        for dim in dims:
            groups = [
                (keys + [value], weight * share)
                for keys, weight in groups
                for value, share in self._dimension(dim, days, videos)
            ]
        total = None
        rows = []
        for keys, weight in groups:
            if "day" in dims or "month" in dims:
                views = weight
            else:
                if total is None:
                    total = sum(self._views_on(d, videos) for d in days)
                views = total * weight
            rows.append(keys + [self._metric(m, views, weight, keys) for m in metrics])
        return rows

    def _dimension(
        self, dim: str, days: list[date], videos: list[Item] | None
    ) -> list[tuple[str, float]]:
        if dim == "day":
            return [(d.isoformat(), self._views_on(d, videos)) for d in days]
        if dim == "month":
            months: dict[str, float] = {}
            for d in days:
                key = d.strftime("%Y-%m")
                months[key] = months.get(key, 0.0) + self._views_on(d, videos)
            return list(months.items())
        if dim == "video":
            pool = videos or list(self.world.items(self.account, self.now))[:200]
            weights = [
                (v.external_id, max(v.final_views, 1.0))
                for v in pool
                if not (v.deleted or v.private)
            ]
            total = sum(w for _, w in weights) or 1.0
            return [(vid, w / total) for vid, w in weights]
        source = {
            "country": "country",
            "ageGroup": "ageGroup",
            "gender": "yt_gender",
            "insightTrafficSourceType": "traffic",
        }[dim]
        return [
            (value, share / 100)
            for value, share in self.world.distribution(self.account, source)
        ]

    def _metric(self, metric: str, views: float, share: float, keys: list[str]) -> Any:
        seed = self.sb.seed
        noise = 0.8 + 0.4 * unit(seed, "yta", self.account.id, metric, *keys)
        if metric == "views":
            value: float = views
        elif metric == "viewerPercentage":
            return round(share * 100, 1)
        elif metric == "averageViewDuration":
            value = 60 + 240 * noise
        elif metric == "averageViewPercentage":
            return round(30 + 25 * noise, 2)
        elif metric in {
            "estimatedRevenue",
            "estimatedAdRevenue",
            "grossRevenue",
            "estimatedRedPartnerRevenue",
        }:
            return round(views / 1000 * 1.9 * noise, 3)
        elif metric in {"cpm", "playbackBasedCpm"}:
            return round(6 + 4 * noise, 3)
        elif metric in FLOAT:
            # As recorded: a FLOAT column's zero arrives as a plain 0.
            return round(0.01 * noise, 3) if views else 0
        else:
            value = views * RATIOS.get(metric, 0.001) * noise
        number = int(value)
        if unit(seed, "float-int", self.account.id, metric, *keys) < 0.15:
            # INTEGER columns sometimes arrive as floats, e.g. 12.0.
            return float(number)
        return number

    def _retention(self, video: Item, metrics: list[str]) -> list[list[Any]]:
        rows = []
        for step in range(1, 101):
            ratio = step / 100
            watch = round(
                max(
                    0.02,
                    (1 - ratio) ** 1.3
                    + 0.05 * unit(self.sb.seed, video.external_id, step),
                ),
                4,
            )
            row: list[Any] = [ratio]
            for metric in metrics:
                if metric == "audienceWatchRatio":
                    row.append(watch)
                elif metric == "relativeRetentionPerformance":
                    row.append(
                        round(
                            0.3
                            + 0.4 * unit(self.sb.seed, "rrp", video.external_id, step),
                            4,
                        )
                    )
                else:
                    raise ReportError(
                        400,
                        (
                            "The query is not supported. Retention reports take "
                            "audienceWatchRatio or relativeRetentionPerformance."
                        ),
                    )
            rows.append(row)
        return rows

    def _sort_and_page(
        self, rows: list[list[Any]], columns: list[str]
    ) -> list[list[Any]]:
        for key in reversed([k for k in self.query.get("sort", "").split(",") if k]):
            name = key.lstrip("-")
            if name not in columns:
                raise ReportError(
                    400, f"Unknown identifier ({name}) given in field parameters.sort."
                )
            index = columns.index(name)
            rows.sort(key=lambda row: row[index], reverse=key.startswith("-"))
        try:
            start_index = int(self.query.get("startIndex", "1"))
            max_results = (
                int(self.query["maxResults"]) if "maxResults" in self.query else None
            )
        except ValueError as exc:
            raise ReportError(
                400, "Invalid value for startIndex or maxResults."
            ) from exc
        rows = rows[start_index - 1 :]
        return rows if max_results is None else rows[:max_results]
