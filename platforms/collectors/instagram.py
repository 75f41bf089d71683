"""Instagram (Graph API): profile counters, media with insights, stories, days.

Per run: the profile, one media page per 50 posts plus one batch request
of 50 insights calls per page, one insights call per live story, and the
account's day series (30 days per call) and audience.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Sum

from platforms.clients.instagram import MEDIA_FIELDS
from platforms.collectors.base import BaseCollector, CursorGuard, Outcome
from platforms.exceptions import PlatformError
from platforms.metrics import to_int
from platforms.models import ContentItem, MetricSnapshot
from platforms.services.storage import DistributionData, ItemData, MetricValue

PAGE_SIZE = 50
#: Standard names from the client's insights results → stored metric keys.
STORED_AS = {
    "views": "view_count",
    "reach": "reach",
    "like_count": "like_count",
    "comment_count": "comment_count",
    "share_count": "share_count",
    "saved": "saved",
    "total_interactions": "total_interactions",
    "replies": "replies",
    "follows": "follows",
    "profile_visits": "profile_visits",
}
#: Account day series (Graph names → stored keys).
DAY_SERIES = {"reach": "reach", "follower_count": "follower_gain"}
SERIES_DAYS_PER_CALL = 30
BACKFILL_DAYS = 90
RECENT_DAYS = 3
SOURCE_MEDIA = "graph.ig_media"
SOURCE_INSIGHTS = "graph.media.insights"


def parse_graph_time(value: str | None) -> dt.datetime | None:
    """Graph timestamps look like 2019-04-05T07:56:32+0000."""
    if not value:
        return None
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def kind_of(media: dict[str, Any]) -> str:
    product = media.get("media_product_type")
    if product == "REELS":
        return ContentItem.Kind.REEL
    if product == "STORY":
        return ContentItem.Kind.STORY
    if media.get("media_type") == "CAROUSEL_ALBUM":
        return ContentItem.Kind.CAROUSEL
    return ContentItem.Kind.FEED_POST


class InstagramCollector(BaseCollector):
    platform = "instagram"

    def collect(self, *, backfill: bool) -> Outcome:
        self.collect_profile()
        seen: set[str] = set()
        self.total_views, self.posts_without_views = 0, 0
        for media in self.media_pages():
            seen.update(self.collect_media_page(media))
        # Posts without insights (older than the business conversion) add
        # nothing: the sum is then a lower bound, and says so.
        self.store_snapshots(
            [
                MetricValue(
                    "view_count",
                    self.total_views,
                    "derived: sum of media views insights",
                    estimated=self.posts_without_views > 0,
                )
            ]
        )
        self.mark_vanished(seen | self.collect_stories())
        today = self.fetched_at.date()
        days = BACKFILL_DAYS if backfill else RECENT_DAYS
        self.collect_days(today - dt.timedelta(days=days), today)
        self.collect_audience(today)
        return self.outcome

    def collect_profile(self) -> None:
        profile = self.client.get_user_profile()
        metrics, missing = profile.get("metrics", {}), profile.get("unavailable", {})
        self.store_snapshots(
            [
                MetricValue(
                    stored, metrics.get(name), "graph.ig_user", missing.get(name, "")
                )
                for name, stored in (
                    ("followers_count", "follower_count"),
                    ("follows_count", "following_count"),
                    ("media_count", "video_count"),
                )
            ]
        )
        if isinstance(metrics.get("media_count"), int):
            self.progress.set_total(metrics["media_count"])

    def media_pages(self) -> Iterator[list[dict[str, Any]]]:
        guard = CursorGuard(SOURCE_MEDIA)
        after: str | None = None
        listed: set[str] = set()
        while True:
            params: dict[str, Any] = {"fields": MEDIA_FIELDS, "limit": PAGE_SIZE}
            if after:
                params["after"] = after
            # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
            body = self.client.get(
                SOURCE_MEDIA, f"{self.client.ig_user_id}/media", **params
            )
            page = body.get("data")
            if not isinstance(page, list):
                raise self.client.data_error(SOURCE_MEDIA, "data is not a list")
            media = [
                m
                for m in page
                if isinstance(m, dict) and isinstance(m.get("id"), str)
                if m["id"] not in listed
            ]
            listed.update(m["id"] for m in media)
            if media:
                yield media
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not guard.next(
                after, page_size=len(media), has_more=bool(paging.get("next"))
            ):
                return

    def collect_media_page(self, media: list[dict[str, Any]]) -> set[str]:
        pks = self.store_items(
            ItemData(
                platform_item_id=m["id"],
                kind=kind_of(m),
                title=m.get("caption") or "",
                published_at=parse_graph_time(m.get("timestamp")),
                url=m.get("permalink") or "",
                thumbnail_url=m.get("thumbnail_url") or m.get("media_url") or "",
            )
            for m in media
        )
        values = []
        for m in media:
            for field, metric in (
                ("like_count", "like_count"),
                ("comments_count", "comment_count"),
            ):
                raw = m.get(field)
                values.append(
                    MetricValue(
                        metric,
                        None if raw is None else to_int(raw, field=field),
                        SOURCE_MEDIA,
                        "hidden by the creator" if raw is None else "",
                        item_id=pks[m["id"]],
                    )
                )
        wanted = self._insights_due(pks)
        try:
            insights = self.client.get_media_insights_batch(wanted) if wanted else {}
        except PlatformError as error:
            self.item_failed("media insights batch", error)
            insights = {}
        for media_id, result in insights.items():
            values += self._insight_values(result, pks[media_id], SOURCE_INSIGHTS)
            views = result.get("metrics", {}).get("views")
            if views is None:
                self.posts_without_views += 1
            else:
                self.total_views += views
        self.posts_without_views += len(wanted) - len(insights)
        self._add_stored_views([pks[m] for m in pks if m not in wanted])
        self.store_snapshots(values)
        self.progress.advance(len(media))
        return set(pks)

    def _add_stored_views(self, item_ids: list[int]) -> None:
        """Count the views an earlier attempt of this run stored."""
        if not item_ids:
            return
        stored = MetricSnapshot.objects.filter(
            item_id__in=item_ids,
            metric="view_count",
            fetched_at__gte=self.progress.run.queued_at,
            value_int__isnull=False,
        ).aggregate(total=Sum("value_int"), n=Count("item_id", distinct=True))
        self.total_views += stored["total"] or 0
        self.posts_without_views += len(item_ids) - stored["n"]

    def _insights_due(self, pks: dict[str, int]) -> list[str]:
        """Media whose insights this run has not fetched yet.

        Graph allows about 200 calls per user per hour and every media's
        insights is one call, so a large backfill is throttled part-way and
        re-queued; skipping what an earlier attempt of the same run already
        stored lets each attempt move the backfill forward.
        """
        started = self.progress.run.queued_at
        done = set(
            MetricSnapshot.objects.filter(
                item_id__in=pks.values(), metric="reach", fetched_at__gte=started
            ).values_list("item_id", flat=True)
        )
        return [media_id for media_id, pk in pks.items() if pk not in done]

    def _insight_values(
        self, result: dict[str, Any], pk: int, source: str
    ) -> list[MetricValue]:
        metrics, missing = result.get("metrics", {}), result.get("unavailable", {})
        values = []
        for name, stored in STORED_AS.items():
            if name in metrics or name in missing:
                values.append(
                    MetricValue(
                        stored,
                        metrics.get(name),
                        source,
                        missing.get(name, ""),
                        item_id=pk,
                    )
                )
        return values

    def collect_stories(self) -> set[str]:
        """Live stories (24 h) and their insights; they stay as items afterwards."""
        try:
            stories = self.client.list_stories()
        except PlatformError as error:
            self.item_failed("stories", error)
            return set()
        if not stories:
            return set()
        pks = self.store_items(
            ItemData(
                platform_item_id=s["id"],
                kind=ContentItem.Kind.STORY,
                title=s.get("caption") or "",
                published_at=parse_graph_time(s.get("timestamp")),
                url=s.get("permalink") or "",
            )
            for s in stories
        )
        values = []
        for story_id, pk in pks.items():
            try:
                result = self.client.get_story_insights(story_id)
            except PlatformError as error:
                self.item_failed(f"story {story_id}", error)
                continue
            values += self._insight_values(result, pk, "graph.story.insights")
        self.store_snapshots(values)
        # Stories expire: only the ones listed now count as seen, and an
        # expired story is not "vanished" content, so report them all seen.
        return set(
            ContentItem.objects.filter(
                account=self.account, kind=ContentItem.Kind.STORY
            ).values_list("platform_item_id", flat=True)
        )

    def collect_days(self, start: dt.date, end: dt.date) -> None:
        """Account day series, in windows of 30 days (Graph's longest)."""
        values = []
        window_start = start
        while window_start < end:
            window_end = min(
                end, window_start + dt.timedelta(days=SERIES_DAYS_PER_CALL)
            )
            try:
                # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/insights
                body = self.client.get(
                    "graph.ig_user.insights",
                    f"{self.client.ig_user_id}/insights",
                    metric=",".join(DAY_SERIES),
                    period="day",
                    since=int(
                        dt.datetime.combine(window_start, dt.time(), dt.UTC).timestamp()
                    ),
                    until=int(
                        dt.datetime.combine(window_end, dt.time(), dt.UTC).timestamp()
                    ),
                )
            except PlatformError as error:
                self.item_failed("account day series", error)
                return
            for series in body.get("data") or []:
                stored = DAY_SERIES.get(series.get("name"))
                if stored is None:
                    continue
                for point in series.get("values") or []:
                    end_time = parse_graph_time(point.get("end_time"))
                    if end_time is None or point.get("value") is None:
                        continue
                    # end_time closes the day: the value belongs to the day before.
                    day = (end_time - dt.timedelta(seconds=1)).date()
                    values.append(
                        MetricValue(
                            stored,
                            to_int(point["value"], field=stored),
                            "graph.ig_user.insights",
                            day=day,
                        )
                    )
            window_start = window_end
        self.store_daily(values)

    def collect_audience(self, today: dt.date) -> None:
        distributions = []
        for kind, breakdown in (("age_gender", "age,gender"), ("country", "country")):
            try:
                body = self.client.get(
                    "graph.ig_user.insights",
                    f"{self.client.ig_user_id}/insights",
                    metric="follower_demographics",
                    period="lifetime",
                    metric_type="total_value",
                    breakdown=breakdown,
                )
            except PlatformError as error:
                # Accounts under 100 followers get no demographics at all.
                self.item_failed(f"follower demographics by {breakdown}", error)
                continue
            rows = []
            for series in body.get("data") or []:
                for part in (series.get("total_value") or {}).get("breakdowns") or []:
                    for result in part.get("results") or []:
                        rows.append(
                            {
                                "key": " ".join(result.get("dimension_values") or []),
                                "value": result.get("value"),
                            }
                        )
            if rows:
                distributions.append(
                    DistributionData(
                        kind=kind, day=today, data=rows, source="graph.ig_user.insights"
                    )
                )
        self.store_distributions(distributions)
