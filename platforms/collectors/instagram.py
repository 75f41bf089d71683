"""Instagram (Graph API): profile counters, media with insights, stories, days.

Per run: the profile, one media page per 50 posts plus one batch request
of 50 insights calls per page, one insights call per live story, and the
account's day series (30 days per call) and audience.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from platforms import planner
from platforms.clients.instagram import MEDIA_FIELDS
from platforms.clients.instagram_insights import (
    FEW_VIEWERS,
    MEDIA_METRICS,
    NOT_BUSINESS,
)
from platforms.collectors.base import (
    RUN_ENDING,
    BaseCollector,
    CursorGuard,
    Outcome,
    RecentIds,
)
from platforms.exceptions import PlatformError
from platforms.metrics import to_int
from platforms.models import ContentItem, MetricSnapshot
from platforms.services.errors import error_notes_once
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
SOURCE_STORY_INSIGHTS = "graph.story.insights"


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
    #: The insights asked for each post (Graph names); one Meta retires is
    #: dropped by the client, recorded, and the rest are asked again.
    media_insights: tuple[str, ...] = MEDIA_METRICS

    def collect(self, *, backfill: bool) -> Outcome:
        today = self.fetched_at.date()
        days = BACKFILL_DAYS if backfill else RECENT_DAYS
        self.full_listing(backfill=backfill)
        self.run_phase("profile", self.collect_profile)
        self.run_phase("media", self.collect_media)
        self.run_phase(
            "reread",
            lambda: self.reread_old_items(self._collect_insights, batch=PAGE_SIZE),
        )
        self.run_phase("total", self.store_view_total)
        self.run_phase("stories", self.collect_stories)
        self.run_phase("vanished", self._mark_vanished)
        self.run_phase(
            "days", lambda: self.collect_days(today - dt.timedelta(days=days), today)
        )
        self.run_phase("audience", lambda: self.collect_audience(today))
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
            self.expect_items(metrics["media_count"])

    def collect_media(self) -> None:
        """Every post with its insights, page by page, resumable.

        The checkpoint holds the cursor of the next page and the posts of
        the current page whose insights are still to ask (`pending`): a
        throttled attempt stores what the client finished and the next one
        asks for the rest first, without listing that page again.
        """
        checkpoint = self.progress.checkpoint
        if checkpoint.get("pending"):
            self._collect_insights(checkpoint["pending"])
        left = self.listing_left(SOURCE_MEDIA)
        if left is not None:
            guard, start = left
            for media, after in self.media_pages(guard, start):
                due = self.store_media_page(media)
                # The page is stored: from here on, its insights are what is
                # left of it, and the listing goes on after it.
                self.listing_moved(after, guard, pending=due)
                self._collect_insights(due)
                self.progress.advance(len(media))
                if self.past_fresh_head(
                    parse_graph_time(m.get("timestamp")) for m in media
                ):
                    break
            self.listing_done(guard)

    def store_view_total(self) -> None:
        """The account's views: the sum of its posts' latest views insights.

        Posts without insights (older than the business conversion) add
        nothing: the sum is then a lower bound, and says so; if no post
        gave views at all the total is missing (NULL), never 0.
        """
        views = self.views_total()
        cut = self.progress.checkpoint.get("cut")
        reason = ""
        if not views.with_views:
            reason = "no post returned a views insight"
            if not views.items:
                reason = "the account has no posts"
        partial = views.with_views < views.items or views.stale or cut
        self.store_snapshots(
            [
                MetricValue(
                    "view_count",
                    views.total if views.with_views else None,
                    "derived: sum of media views insights",
                    reason,
                    estimated=bool(views.with_views and partial),
                )
            ]
        )

    def _mark_vanished(self) -> None:
        # Stories expire after 24 h: an expired story is not vanished content.
        self.mark_vanished(
            cut=self.progress.checkpoint.get("cut"),
            keep_kinds=[ContentItem.Kind.STORY],
        )

    def media_pages(
        self, guard: CursorGuard, after: str | None
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Media pages from the `after` cursor (None: the start), with the next one."""
        listed = RecentIds()
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
            first: dict[str, dict[str, Any]] = {}
            for m in page:
                if isinstance(m, dict) and isinstance(m.get("id"), str):
                    first.setdefault(m["id"], m)
            media = [first[media_id] for media_id in listed.new(first)]
            paging = body.get("paging") or {}
            next_after = (paging.get("cursors") or {}).get("after")
            more = guard.next(
                next_after, page_size=len(media), has_more=bool(paging.get("next"))
            )
            if media:
                yield media, next_after if more else None
            if not more:
                return
            after = next_after

    def store_media_page(self, media: list[dict[str, Any]]) -> dict[str, int]:
        """Store a page's posts and counters; return those needing insights."""
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
        self.store_snapshots(values)
        due = self._insights_due(pks)
        if not self.progress.checkpoint.get("backfill"):
            # Scheduled: fresh posts now; older ones on their band's cadence.
            horizon = self.fetched_at - planner.FRESH
            fresh = {
                m["id"]
                for m in media
                if (parse_graph_time(m.get("timestamp")) or self.fetched_at) >= horizon
            }
            due = {m: pk for m, pk in due.items() if m in fresh}
        return due

    def _collect_insights(self, due: dict[str, int]) -> None:
        """Insights of the `due` posts ({media id: pk}), stored as they come.

        The client sizes each batch to what the limiter grants and, when it
        must stop (throttled), says which posts it finished (`completed`)
        and which it did not ask yet (`pending`): the finished ones are
        stored and the rest stay in the checkpoint for the next attempt.
        """
        if not due:
            return
        try:
            insights = self.client.get_media_insights_batch(
                list(due), metrics=self.media_insights
            )
        except PlatformError as error:
            done = getattr(error, "completed", None) or {}
            self._store_insights(done, due)
            if isinstance(error, RUN_ENDING):
                left = getattr(error, "pending", None) or [
                    m for m in due if m not in done
                ]
                self.progress.save_checkpoint(
                    pending={m: due[m] for m in left if m in due}
                )
                raise
            self.item_failed("media insights batch", error)
        else:
            self._store_insights(insights, due)
        self.progress.save_checkpoint(pending={})

    def _store_insights(
        self, insights: dict[str, dict[str, Any]], pks: dict[str, int]
    ) -> None:
        values = []
        no_insights = {}
        for media_id, result in insights.items():
            pk = pks[media_id]
            values += self._insight_values(result, pk, SOURCE_INSIGHTS)
            if NOT_BUSINESS in result.get("unavailable", {}).values():
                no_insights[pk] = (
                    f"Media {media_id} has no insights (Graph subcode 2108006): "
                    f"{NOT_BUSINESS}."
                )
        self.store_snapshots(values)
        # Graph refuses these inside a batch reply, which the client turns
        # into missing values; the error-log row is written here, once.
        error_notes_once(
            account=self.account,
            code="2108006",
            messages=no_insights,
            endpoint="graph.batch",
        )

    def _insights_due(self, pks: dict[str, int]) -> dict[str, int]:
        """Posts whose insights this run has not stored yet.

        A page listed again (after a worker died) skips the posts an earlier
        attempt of the same run already has insights for.
        """
        done = set(
            MetricSnapshot.objects.filter(
                item_id__in=pks.values(),
                metric="reach",
                fetched_at__gte=self.listing_since,
            ).values_list("item_id", flat=True)
        )
        return {media_id: pk for media_id, pk in pks.items() if pk not in done}

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

    def collect_stories(self) -> None:
        """Live stories (24 h) and their insights; they stay as items afterwards.

        One insights call per story; the stories still to ask are in the
        checkpoint, so a throttled attempt does not ask the first ones again.
        """
        checkpoint = self.progress.checkpoint
        if "stories_left" not in checkpoint:
            try:
                stories = self.client.list_stories()
            except PlatformError as error:
                self.item_failed("stories", error)
                return
            pks = self.store_items(
                ItemData(
                    platform_item_id=s["id"],
                    kind=ContentItem.Kind.STORY,
                    title=s.get("caption") or "",
                    published_at=parse_graph_time(s.get("timestamp")),
                    url=s.get("permalink") or "",
                )
                for s in stories or []
            )
            self.progress.save_checkpoint(stories_left=pks)
        left = dict(checkpoint["stories_left"])
        for story_id, pk in list(left.items()):
            try:
                result = self.client.get_story_insights(story_id)
            except PlatformError as error:
                self.item_failed(f"story {story_id}", error)
            else:
                self.store_snapshots(
                    self._insight_values(result, pk, SOURCE_STORY_INSIGHTS)
                )
                if FEW_VIEWERS in result.get("unavailable", {}).values():
                    # The client answers Graph's code 10 with missing values
                    # and leaves the row to us: once per story, linked to it.
                    error_notes_once(
                        account=self.account,
                        code="10",
                        messages={
                            pk: (
                                f"Story {story_id} has no insights (Graph code "
                                f"10): {FEW_VIEWERS}."
                            )
                        },
                        endpoint=SOURCE_STORY_INSIGHTS,
                    )
            del left[story_id]
            self.progress.save_checkpoint(stories_left=left)

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
