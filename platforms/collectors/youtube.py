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

from django.db.models import F

from platforms import planner
from platforms.clients.etags import ETagCache
from platforms.clients.youtube_analytics import parse_report
from platforms.collectors.base import BaseCollector, CursorGuard, Outcome
from platforms.exceptions import PlatformError
from platforms.metrics import to_int
from platforms.models import ContentItem
from platforms.services.errors import error_notes_once
from platforms.services.storage import DistributionData, ItemData, MetricValue

PAGE_SIZE = 50
#: Replies a backfill keeps for revalidation (its own small cache).
BACKFILL_ETAGS = 8
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
        checkpoint = self.progress.checkpoint
        if backfill and self._owns_client:
            # A backfill's thousands of pages are not read again soon (later
            # runs list the fresh head): keep them out of the process-wide
            # ETag cache, which would otherwise hold every reply body, so
            # memory stays flat however large the channel is.
            self.client.etags = ETagCache(max_entries=BACKFILL_ETAGS)
        today = self.fetched_at.date()
        channel_start = today - dt.timedelta(
            days=(365 if backfill else RECENT_DAYS) - 1
        )
        self.run_phase(
            "channel",
            lambda: self.progress.save_checkpoint(uploads=self.collect_channel()),
        )
        self.full_listing(backfill=backfill)
        self.run_phase("uploads", lambda: self.collect_uploads(checkpoint["uploads"]))
        self.run_phase(
            "reread", lambda: self.reread_old_items(self._reread, batch=PAGE_SIZE)
        )
        self.run_phase(
            "channel_days", lambda: self.collect_channel_days(channel_start, today)
        )
        self.run_phase(
            "video_days", lambda: self.collect_video_days(today, backfill=backfill)
        )
        self.run_phase("audience", lambda: self.collect_audience(channel_start, today))
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

    def upload_pages(
        self, playlist_id: str, guard: CursorGuard, token: str | None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """playlistItems pages from `token` (None: the start), with the next token."""
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
                    self.expect_items(total)
            entries = page.get("items") or []
            if not isinstance(entries, list):
                raise self.client.data_error(
                    "youtube.playlistItems", "items is not a list"
                )
            token = page.get("nextPageToken")
            more = guard.next(token, page_size=len(entries), has_more=bool(token))
            yield entries, token if more else None
            if not more:
                return

    def collect_uploads(self, playlist_id: str) -> None:
        """Every upload with its counters; resumable by page token."""
        left = self.listing_left("youtube.playlistItems")
        if left is not None:
            guard, start = left
            for entries, token in self.upload_pages(playlist_id, guard, start):
                published = self._store_uploads(entries)
                if self.past_fresh_head(published):
                    break
                self.listing_moved(token, guard)
            self.listing_done(guard)
        self.mark_vanished(cut=self.progress.checkpoint.get("cut"))

    def _reread(self, due: dict[str, int]) -> None:
        """Counters of known videos by id (videos.list, 50 per unit)."""
        self._videos(list(due))

    def _store_uploads(self, entries: list[dict[str, Any]]) -> list[dt.datetime | None]:
        """Store a playlist page's videos; return when each was published."""
        placeholders: dict[str, str] = {}
        wanted = []
        published = []
        for entry in entries:
            details = entry.get("contentDetails") or {}
            video_id = details.get("videoId")
            if not isinstance(video_id, str):
                continue
            published.append(parse_time(details.get("videoPublishedAt")))
            wanted.append(video_id)
            title = (entry.get("snippet") or {}).get("title")
            if title in ("Private video", "Deleted video"):
                placeholders[video_id] = (
                    ContentItem.Availability.PRIVATE
                    if title == "Private video"
                    else ContentItem.Availability.DELETED
                )
        found = self._videos(list(dict.fromkeys(wanted)))
        missing = [v for v in wanted if v not in found]
        for availability in (
            ContentItem.Availability.PRIVATE,
            ContentItem.Availability.DELETED,
        ):
            gone = [v for v in missing if placeholders.get(v) == availability]
            self._note_gone(gone, availability)
            self.mark_missing(gone, availability)
        unlisted = [v for v in missing if v not in placeholders]
        self._note_gone(unlisted, ContentItem.Availability.UNAVAILABLE)
        self.mark_missing(unlisted, ContentItem.Availability.UNAVAILABLE)
        self.progress.advance(len(entries))
        return published

    def _note_gone(self, video_ids: list[str], availability: str) -> None:
        """An error-log row per video we had that became deleted or private."""
        known = ContentItem.objects.filter(
            account=self.account, platform_item_id__in=video_ids
        ).exclude(availability=availability)
        error_notes_once(
            account=self.account,
            code=f"video_{availability}",
            endpoint=SOURCE_VIDEOS,
            messages={
                pk: f"Video {video_id} is now {availability}: YouTube no longer "
                "returns it; its history is kept."
                for pk, video_id in known.values_list("pk", "platform_item_id")
            },
        )

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
        for field, reason in HIDDEN.items():
            error_notes_once(
                account=self.account,
                code=f"{field}_hidden",
                endpoint=SOURCE_VIDEOS,
                messages={
                    pks[video_id]: f"Video {video_id}: {reason}; stored as missing."
                    for video_id, video in by_id.items()
                    if (video.get("statistics") or {}).get(field) is None
                },
            )
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
        """Day rows per video, newest first; resumable after the last one done."""
        checkpoint = self.progress.checkpoint
        # Backfills read every video's history; scheduled runs the young ones.
        young_after = self.fetched_at - planner.YOUNG
        items = self.known_items(published_after=None if backfill else young_after)
        after = checkpoint.get("video_days_after")
        if after is not None:
            items = items.filter(pk__in=self._video_days_left(items, after))
        newest_first = (F("published_at").desc(nulls_last=True), F("pk").desc())
        for pk, video_id, published_at in items.order_by(*newest_first).iterator(
            chunk_size=500
        ):
            self._video_days(pk, video_id, published_at, today, backfill=backfill)
            self.progress.save_checkpoint(
                video_days_after=[
                    published_at.isoformat() if published_at else None,
                    pk,
                ]
            )

    @staticmethod
    def _video_days_left(items, after: list[Any]):
        """Items after (published_at, pk) in newest-first order."""
        from django.db.models import Q

        published, pk = after
        if published is None:
            return items.filter(published_at__isnull=True, pk__lt=pk).values("pk")
        moment = dt.datetime.fromisoformat(published)
        return items.filter(
            Q(published_at__lt=moment)
            | Q(published_at=moment, pk__lt=pk)
            | Q(published_at__isnull=True)
        ).values("pk")

    def _video_days(
        self,
        pk: int,
        video_id: str,
        published_at: dt.datetime | None,
        today: dt.date,
        *,
        backfill: bool,
    ) -> None:
        fresh_after = self.fetched_at - (FRESH if backfill else planner.YOUNG)
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
            return
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
