"""TikTok: profile counters and every video with its counts (Display API v2).

video/list returns each video's counts with the listing, so one pass of
20-video pages gives items and counters together: ⌈videos / 20⌉ + 1
requests per run. The Display API has no per-day history; for business
accounts the API for Business (`business/get`) gives the account's daily
views, interactions and follower changes (60 days back) and its audience.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from platforms.clients.tiktok import VIDEO_FIELDS, VIDEO_LIST_PAGE, VIDEO_QUERY_BATCH
from platforms.clients.tiktok_business import validate_business_reply
from platforms.collectors.base import BaseCollector, CursorGuard, Outcome, RecentIds
from platforms.exceptions import PlatformError
from platforms.metrics import to_int
from platforms.models import ConnectedAccount, ContentItem
from platforms.services.storage import DistributionData, ItemData, MetricValue

SOURCE_LIST = "tiktok.video.list"
SOURCE_QUERY = "tiktok.video.query"
SOURCE_BUSINESS = "tiktok.business.get"
#: Business API error code for "this is not a business account".
NOT_BUSINESS = "40001"
#: The Business API reads at most 60 days back.
BUSINESS_BACKFILL_DAYS = 59
BUSINESS_DAILY = {
    "video_views": "view_count",
    "likes": "like_count",
    "comments": "comment_count",
    "shares": "share_count",
    "profile_views": "profile_views",
    "daily_new_followers": "follower_gain",
    "daily_lost_followers": "follower_loss",
}
#: field → (distribution kind, bucket key in each row)
BUSINESS_AUDIENCE = {
    "audience_countries": ("country", "country"),
    "audience_genders": ("age_gender", "gender"),
}
SOURCE_USER = "tiktok.user.info"
VIDEO_COUNTS = ("view_count", "like_count", "comment_count", "share_count")
USER_COUNTS = ("follower_count", "following_count", "likes_count", "video_count")


class TikTokCollector(BaseCollector):
    platform = "tiktok"

    def collect(self, *, backfill: bool) -> Outcome:
        self.full_listing(backfill=backfill)
        self.run_phase("user", self.collect_user)
        self.run_phase("videos", self.collect_videos)
        self.run_phase(
            "reread",
            lambda: self.reread_old_items(self.reread_videos, batch=VIDEO_QUERY_BATCH),
        )
        self.run_phase("total", self.store_total)
        self.run_phase(
            "business", lambda: self.collect_business_days(backfill=backfill)
        )
        return self.outcome

    def collect_videos(self) -> None:
        """Videos with their counts, newest first, page by page, resumable.

        Backfills and full runs list every video; other scheduled runs stop
        once they reach videos older than `planner.FRESH` (older ones are
        re-read by id on their own cadence).
        """
        left = self.listing_left(SOURCE_LIST)
        if left is not None:
            guard, start = left
            for videos, cursor in self.video_pages(guard, start):
                published = self._store_page(videos)
                if self.past_fresh_head(published):
                    break
                self.listing_moved(cursor, guard)
            self.listing_done(guard)
        self.mark_vanished(cut=self.progress.checkpoint.get("cut"))

    def reread_videos(self, due: dict[str, int]) -> None:
        """Counts of known videos by id (video/query, 20 per request)."""
        results = self.client.get_video_metrics(list(due))
        values = []
        for video_id, result in results.items():
            if result.get("available") is False:
                continue  # gone or private: the next full listing says so
            metrics, missing = result.get("metrics", {}), result.get("unavailable", {})
            values += [
                MetricValue(
                    name,
                    metrics.get(name),
                    SOURCE_QUERY,
                    missing.get(name, "") or f"{name} not returned by TikTok",
                    item_id=due[video_id],
                )
                for name in VIDEO_COUNTS
            ]
        self.store_snapshots(values)

    def store_total(self) -> None:
        """The account's views, summed over its videos' latest counts.

        NULL (not 0) when a count is missing or the listing was cut short;
        an estimate when some videos were last read before this run.
        """
        cut = self.progress.checkpoint.get("cut")
        views = self.views_total()
        known = views.with_views == views.items and not cut
        reason = ""
        if cut:
            reason = f"the listing stopped early: {cut}"
        elif not known:
            reason = "a video's view count was not returned"
        self.store_snapshots(
            [
                MetricValue(
                    "view_count",
                    views.total if known else None,
                    "derived: sum of video/list view_count",
                    reason,
                    estimated=known and views.stale > 0,
                )
            ]
        )

    def _store_page(self, videos: list[dict[str, Any]]) -> list[dt.datetime | None]:
        items = [self._item(video) for video in videos]
        pks = self.store_items(items)
        values = []
        for video in videos:
            pk = pks[video["id"]]
            values += [self._count(video, name, pk) for name in VIDEO_COUNTS]
        self.store_snapshots(values)
        self.progress.advance(len(videos))
        return [item.published_at for item in items]

    def collect_business_days(self, *, backfill: bool) -> None:
        """Daily account metrics and audience, for business accounts.

        Whether an account is a business account only shows when the
        Business API answers (40001: it is not); the answer is remembered.
        """
        if self.account.account_type == ConnectedAccount.AccountType.PERSONAL:
            return
        today = self.fetched_at.date()
        start = today - dt.timedelta(days=BUSINESS_BACKFILL_DAYS if backfill else 7)
        try:
            # Reference: https://business-api.tiktok.com/portal/docs?id=1765447286543361
            data = self.client.request(
                SOURCE_BUSINESS,
                "GET",
                f"{self.client.business_url}/open_api/v1.3/business/get/",
                params={
                    "business_id": self.client.business_id,
                    "start_date": start.isoformat(),
                    "end_date": (today - dt.timedelta(days=1)).isoformat(),
                    "fields": json.dumps([*BUSINESS_DAILY, *BUSINESS_AUDIENCE]),
                },
                headers={"Access-Token": self.client.authenticate()},
                auth=False,
                validate=lambda response, endpoint: validate_business_reply(
                    self.client, response, endpoint
                ),
            )
        except PlatformError as error:
            if str(error.code) == NOT_BUSINESS:
                self._remember_type(ConnectedAccount.AccountType.PERSONAL)
                return
            self.item_failed("business daily metrics", error)
            return
        self._remember_type(ConnectedAccount.AccountType.BUSINESS)
        values = []
        for row in data.get("metrics") or []:
            day = dt.date.fromisoformat(str(row.get("date")))
            for field, metric in BUSINESS_DAILY.items():
                if row.get(field) is not None:
                    values.append(
                        MetricValue(
                            metric,
                            to_int(row[field], field=field),
                            SOURCE_BUSINESS,
                            day=day,
                        )
                    )
        self.store_daily(values)
        distributions = []
        for field, (kind, key) in BUSINESS_AUDIENCE.items():
            rows = data.get(field) or []
            if rows:
                distributions.append(
                    DistributionData(
                        kind=kind,
                        day=today,
                        data=[
                            {"key": r.get(key), "value": r.get("percentage")}
                            for r in rows
                        ],
                        source=SOURCE_BUSINESS,
                    )
                )
        self.store_distributions(distributions)

    def _remember_type(self, account_type: str) -> None:
        if self.account.account_type != account_type:
            ConnectedAccount.objects.filter(pk=self.account.pk).update(
                account_type=account_type
            )
            self.account.account_type = account_type

    def collect_user(self) -> None:
        user = self.client.get_user_metrics()
        metrics = user.get("metrics", {})
        missing = user.get("unavailable", {})
        values = [
            MetricValue(name, metrics.get(name), SOURCE_USER, missing.get(name, ""))
            for name in USER_COUNTS
        ]
        self.store_snapshots(values)
        video_count = metrics.get("video_count")
        if isinstance(video_count, int):
            self.expect_items(video_count)

    def video_pages(
        self, guard: CursorGuard, cursor: int | None
    ) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """Pages of video/list, newest first, from `cursor` (None: the start).

        Yields (videos, cursor of the next page); de-duplicated by id across
        pages. `guard.cut` says why, if paging stopped before the end.
        """
        listed = RecentIds()
        while True:
            body: dict[str, Any] = {"max_count": VIDEO_LIST_PAGE}
            if cursor is not None:
                body["cursor"] = cursor
            # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-video-list
            data = self.client.request(
                SOURCE_LIST,
                "POST",
                f"{self.client.api_url}/v2/video/list/",
                params={"fields": VIDEO_FIELDS},
                json_body=body,
            )
            first: dict[str, dict[str, Any]] = {}
            for video in self.client._videos_of(data, SOURCE_LIST):
                first.setdefault(video["id"], video)
            videos = [first[video_id] for video_id in listed.new(first)]
            raw_cursor = data.get("cursor")
            more = guard.next(
                raw_cursor, page_size=len(videos), has_more=bool(data.get("has_more"))
            )
            cursor = to_int(raw_cursor, field="cursor") if more else None
            if videos:
                yield videos, cursor
            if not more:
                return

    def _item(self, video: dict[str, Any]) -> ItemData:
        created = video.get("create_time")
        description = video.get("video_description") or ""
        return ItemData(
            platform_item_id=video["id"],
            kind=ContentItem.Kind.VIDEO,
            title=video.get("title") or description,
            published_at=dt.datetime.fromtimestamp(
                to_int(created, field="create_time"), dt.UTC
            )
            if created is not None
            else None,
            url=video.get("share_url") or "",
            thumbnail_url=(video.get("cover_image_url") or "")[:2000],
            duration_seconds=video.get("duration"),
        )

    def _count(self, video: dict[str, Any], name: str, pk: int) -> MetricValue:
        raw = video.get(name)
        if raw is None:
            return MetricValue(
                name, None, SOURCE_LIST, f"{name} not returned by TikTok", item_id=pk
            )
        return MetricValue(name, to_int(raw, field=name), SOURCE_LIST, item_id=pk)
