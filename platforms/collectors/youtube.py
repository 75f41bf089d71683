"""YouTube: channel counters, every upload, and Analytics day rows.

Cost per run (Data API units, 1 per call): 1 channels call, one
playlistItems page and one videos.list call per 50 uploads. Analytics
reports (their own quota) give the day rows: one channel report, one per
video for its history, three for the channel's audience.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from platforms.clients.youtube_analytics import parse_report
from platforms.collectors.base import BaseCollector, CursorGuard, Outcome
from platforms.exceptions import PlatformError
from platforms.metrics import to_int
from platforms.models import ContentItem
from platforms.services.storage import DistributionData, ItemData, MetricValue

PAGE_SIZE = 50
#: Analytics day rows arrive 2–3 days late; re-read this many recent days.
RECENT_DAYS = 7
#: Items published this recently get their own day rows on every run.
FRESH = dt.timedelta(days=30)
#: Longest history asked for in one report (YouTube keeps more, few need it).
MAX_HISTORY_DAYS = 730
#: YouTube Shorts are at most three minutes long; the API has no flag for
#: them, so shorter videos count as shorts (a heuristic, said so in the UI).
SHORT_MAX_SECONDS = 180

DAILY_METRICS = {
    "views": "view_count",
    "likes": "like_count",
    "comments": "comment_count",
    "shares": "share_count",
    "estimatedMinutesWatched": "watch_time_minutes",
    "subscribersGained": "follower_gain",
}
CHANNEL_DAILY_METRICS = {**DAILY_METRICS, "subscribersLost": "follower_loss"}
HIDDEN = {
    "likeCount": "likes are hidden on this video",
    "commentCount": "comments are disabled on this video",
}
SOURCE_VIDEOS = "youtube.videos"
SOURCE_REPORTS = "youtubeAnalytics.reports"
_DURATION = re.compile(r"^P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def parse_duration(value: str | None) -> int | None:
    """ISO 8601 duration (PT1H2M3S) in seconds; None when absent or odd."""
    match = _DURATION.match(value or "")
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class YouTubeCollector(BaseCollector):
    platform = "youtube"

    def collect(self, *, backfill: bool) -> Outcome:
        uploads = self.collect_channel()
        seen = self.collect_uploads(uploads)
        self.mark_vanished(seen)
        today = self.fetched_at.date()
        channel_start = today - dt.timedelta(
            days=(365 if backfill else RECENT_DAYS) - 1
        )
        self.collect_channel_days(channel_start, today)
        self.collect_video_days(today, backfill=backfill)
        self.collect_audience(channel_start, today)
        return self.outcome

    # --- channel ----------------------------------------------------------

    def collect_channel(self) -> str:
        # Reference: https://developers.google.com/youtube/v3/docs/channels/list
        reply = self.client.data_get(
            "channels", {"part": "snippet,statistics,contentDetails", "mine": "true"}
        )
        items = reply.get("items") or []
        if not items:
            raise self.client.data_error(
                "youtube.channels", "no channel for this token"
            )
        channel = items[0]
        stats = channel.get("statistics") or {}
        values = [
            self._count("view_count", stats, "viewCount", "youtube.channels"),
            self._count("video_count", stats, "videoCount", "youtube.channels"),
        ]
        if stats.get("hiddenSubscriberCount"):
            values.append(
                MetricValue(
                    "follower_count",
                    None,
                    "youtube.channels",
                    "the channel hides its subscriber count",
                )
            )
        else:
            values.append(
                self._count(
                    "follower_count", stats, "subscriberCount", "youtube.channels"
                )
            )
        self.store_snapshots(values)
        try:
            return channel["contentDetails"]["relatedPlaylists"]["uploads"]
        except (KeyError, TypeError):
            raise self.client.data_error(
                "youtube.channels", "channel without an uploads playlist"
            ) from None

    def _count(
        self, metric: str, stats: dict[str, Any], field: str, source: str, item_id=None
    ) -> MetricValue:
        raw = stats.get(field)
        if raw is None:
            reason = HIDDEN.get(field, f"{field} not returned")
            return MetricValue(metric, None, source, reason, item_id=item_id)
        return MetricValue(metric, to_int(raw, field=field), source, item_id=item_id)

    # --- uploads ----------------------------------------------------------

    def upload_pages(self, playlist_id: str) -> Iterator[list[dict[str, Any]]]:
        guard = CursorGuard("youtube.playlistItems")
        token = None
        while True:
            query = {
                "part": "snippet,contentDetails,status",
                "playlistId": playlist_id,
                "maxResults": PAGE_SIZE,
            }
            if token:
                query["pageToken"] = token
            # Reference: https://developers.google.com/youtube/v3/docs/playlistItems/list
            page = self.client.data_get("playlistItems", query)
            if guard.pages == 0:
                total = (page.get("pageInfo") or {}).get("totalResults")
                if isinstance(total, int):
                    self.progress.set_total(total)
            entries = page.get("items") or []
            yield entries
            token = page.get("nextPageToken")
            if not guard.next(token, page_size=len(entries), has_more=bool(token)):
                return

    def collect_uploads(self, playlist_id: str) -> set[str]:
        seen: set[str] = set()
        for entries in self.upload_pages(playlist_id):
            placeholders: dict[str, str] = {}
            wanted = []
            for entry in entries:
                video_id = (entry.get("contentDetails") or {}).get("videoId")
                if not isinstance(video_id, str):
                    continue
                wanted.append(video_id)
                title = (entry.get("snippet") or {}).get("title")
                if title in ("Private video", "Deleted video"):
                    placeholders[video_id] = (
                        ContentItem.Availability.PRIVATE
                        if title == "Private video"
                        else ContentItem.Availability.DELETED
                    )
            found = self._videos(list(dict.fromkeys(wanted)))
            seen.update(found)
            missing = [v for v in wanted if v not in found]
            for availability in (
                ContentItem.Availability.PRIVATE,
                ContentItem.Availability.DELETED,
            ):
                self.mark_missing(
                    [v for v in missing if placeholders.get(v) == availability],
                    availability,
                )
            self.mark_missing(
                [v for v in missing if v not in placeholders],
                ContentItem.Availability.UNAVAILABLE,
            )
            self.progress.advance(len(entries))
        return seen

    def _videos(self, video_ids: list[str]) -> set[str]:
        """videos.list for ≤50 ids: items and counters, matched by id."""
        if not video_ids:
            return set()
        # Reference: https://developers.google.com/youtube/v3/docs/videos/list
        reply = self.client.data_get(
            "videos",
            {
                "part": "snippet,statistics,contentDetails,status",
                "id": ",".join(video_ids),
                "maxResults": PAGE_SIZE,
            },
        )
        by_id = {
            video["id"]: video
            for video in reply.get("items") or []
            if isinstance(video, dict) and video.get("id") in video_ids
        }
        items = []
        for video_id, video in by_id.items():
            snippet = video.get("snippet") or {}
            duration = parse_duration(
                (video.get("contentDetails") or {}).get("duration")
            )
            thumbs = snippet.get("thumbnails") or {}
            thumb = (thumbs.get("medium") or thumbs.get("default") or {}).get("url", "")
            items.append(
                ItemData(
                    platform_item_id=video_id,
                    kind=ContentItem.Kind.SHORT
                    if duration is not None and duration <= SHORT_MAX_SECONDS
                    else ContentItem.Kind.VIDEO,
                    title=snippet.get("title") or "",
                    published_at=parse_time(snippet.get("publishedAt")),
                    url=f"https://www.youtube.com/watch?v={video_id}",
                    thumbnail_url=thumb,
                    duration_seconds=duration,
                )
            )
        pks = self.store_items(items)
        values = []
        for video_id, video in by_id.items():
            stats = video.get("statistics") or {}
            pk = pks[video_id]
            values += [
                self._count("view_count", stats, "viewCount", SOURCE_VIDEOS, pk),
                self._count("like_count", stats, "likeCount", SOURCE_VIDEOS, pk),
                self._count("comment_count", stats, "commentCount", SOURCE_VIDEOS, pk),
            ]
        self.store_snapshots(values)
        return set(by_id)

    # --- analytics --------------------------------------------------------

    def _report(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return parse_report(self.client, self.client.report(params))

    def collect_channel_days(self, start: dt.date, end: dt.date) -> None:
        # Reference: https://developers.google.com/youtube/analytics/channel_reports
        try:
            rows = self._report(
                {
                    "startDate": start.isoformat(),
                    "endDate": end.isoformat(),
                    "dimensions": "day",
                    "metrics": ",".join(CHANNEL_DAILY_METRICS),
                    "sort": "day",
                }
            )
        except PlatformError as error:
            self.item_failed("channel day report", error)
            return
        self.store_daily(self._day_values(rows, CHANNEL_DAILY_METRICS, item_id=None))

    def collect_video_days(self, today: dt.date, *, backfill: bool) -> None:
        fresh_after = self.fetched_at - FRESH
        items = self.known_items(published_after=None if backfill else fresh_after)
        for pk, video_id, published_at in items.iterator(chunk_size=500):
            first = published_at.date() if published_at else today
            start = (
                max(first, today - dt.timedelta(days=MAX_HISTORY_DAYS - 1))
                if backfill
                else max(first, today - dt.timedelta(days=RECENT_DAYS - 1))
            )
            try:
                rows = self._report(
                    {
                        "startDate": start.isoformat(),
                        "endDate": today.isoformat(),
                        "dimensions": "day",
                        "metrics": ",".join(DAILY_METRICS),
                        "filters": f"video=={video_id}",
                        "sort": "day",
                    }
                )
            except PlatformError as error:
                self.item_failed(f"video {video_id} day report", error)
                continue
            # No rows (a brand-new video) stores nothing: missing, never 0.
            self.store_daily(self._day_values(rows, DAILY_METRICS, item_id=pk))
            if published_at and published_at >= fresh_after:
                self._retention(pk, video_id, start, today)

    def _day_values(
        self,
        rows: list[dict[str, Any]],
        metrics: dict[str, str],
        *,
        item_id: int | None,
    ) -> list[MetricValue]:
        values = []
        for row in rows:
            day = dt.date.fromisoformat(str(row["day"]))
            for api_name, metric in metrics.items():
                if api_name in row:
                    values.append(
                        MetricValue(
                            metric,
                            row[api_name],
                            SOURCE_REPORTS,
                            "no value in the report row",
                            item_id=item_id,
                            day=day,
                        )
                    )
        return values

    def _retention(self, pk: int, video_id: str, start: dt.date, end: dt.date) -> None:
        try:
            rows = self._report(
                {
                    "startDate": start.isoformat(),
                    "endDate": end.isoformat(),
                    "dimensions": "elapsedVideoTimeRatio",
                    "metrics": "audienceWatchRatio",
                    "filters": f"video=={video_id}",
                }
            )
        except PlatformError as error:
            self.item_failed(f"video {video_id} retention", error)
            return
        if rows:
            self.store_distributions(
                [
                    DistributionData(
                        kind="retention",
                        day=end,
                        item_id=pk,
                        data=[
                            {
                                "key": row["elapsedVideoTimeRatio"],
                                "value": row["audienceWatchRatio"],
                            }
                            for row in rows
                        ],
                        source=SOURCE_REPORTS,
                    )
                ]
            )

    def collect_audience(self, start: dt.date, end: dt.date) -> None:
        reports = (
            ("country", "country", "views"),
            ("age_gender", "ageGroup,gender", "viewerPercentage"),
            ("traffic_source", "insightTrafficSourceType", "views"),
        )
        distributions = []
        for kind, dimensions, metric in reports:
            try:
                rows = self._report(
                    {
                        "startDate": start.isoformat(),
                        "endDate": end.isoformat(),
                        "dimensions": dimensions,
                        "metrics": metric,
                        "sort": f"-{metric}",
                        **({"maxResults": 25} if kind != "age_gender" else {}),
                    }
                )
            except PlatformError as error:
                self.item_failed(f"{kind} report", error)
                continue
            keys = dimensions.split(",")
            distributions.append(
                DistributionData(
                    kind=kind,
                    day=end,
                    data=[
                        {
                            "key": " ".join(str(row[k]) for k in keys),
                            "value": row[metric],
                        }
                        for row in rows
                    ],
                    source=SOURCE_REPORTS,
                )
            )
        self.store_distributions(distributions)
