"""Standard metric names, their platform fields, exact numbers and derived figures.

`METRIC_MAPPINGS[platform][standard_name]` is the platform's own field: a
Display/Data API field, an Analytics API metric or a Graph insights metric.
Names the guide lists that a platform cannot give are in `UNAVAILABLE` with
the reason, so results say so instead of inventing a number.

Derived figures (formulas also in the README, "Platform clients"):

- engagement_rate: TikTok (likes + comments + shares) / views; YouTube
  (likes + comments) / views (the integration guide's definitions);
  Instagram total_interactions / reach (Meta defines total_interactions as
  likes + comments + saves + shares + replies; reach is accounts reached).
- viral_coefficient: shares / views, the share of views that led to a share
  (the product's own proxy; platforms publish no such metric).
- hashtag_performance: per hashtag in the creator's own captions, the
  number of videos, their summed and mean views and mean engagement rate.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from platforms.exceptions import PlatformDataError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

METRIC_MAPPINGS: dict[str, dict[str, str]] = {
    "tiktok": {
        # Display API v2 video fields / user.info.stats fields.
        "view_count": "view_count",
        "like_count": "like_count",
        "comment_count": "comment_count",
        "share_count": "share_count",
        "follower_count": "follower_count",
        "following_count": "following_count",
        "likes_count": "likes_count",
        "video_count": "video_count",
        # API for Business (business accounts only).
        "video_retention": "video_view_retention",
        "audience_demographics": "audience_countries",
        "average_watch_time": "average_time_watched",
        "total_watch_time": "total_time_watched",
        "reach": "reach",
    },
    "youtube": {
        # Data API v3 statistics (strings).
        "view_count": "viewCount",
        "like_count": "likeCount",
        "comment_count": "commentCount",
        "favorite_count": "favoriteCount",
        "subscriber_count": "subscriberCount",
        # Analytics API v2 metrics.
        "views": "views",
        "likes": "likes",
        "comments": "comments",
        "watch_time": "estimatedMinutesWatched",
        "average_view_duration": "averageViewDuration",
        "average_view_percentage": "averageViewPercentage",
        "subscriber_gain": "subscribersGained",
        "subscriber_loss": "subscribersLost",
        "revenue": "estimatedRevenue",
        "playlist_adds": "videosAddedToPlaylists",
        "shares": "shares",
        "audience_retention": "audienceWatchRatio",
        "demographics": "viewerPercentage",
    },
    "instagram": {
        "views": "views",
        "reach": "reach",
        "like_count": "likes",
        "comment_count": "comments",
        "share_count": "shares",
        "saved": "saved",
        "total_interactions": "total_interactions",
        "follows": "follows",
        "profile_visits": "profile_visits",
        "replies": "replies",
        "navigation": "navigation",
        "average_watch_time": "ig_reels_avg_watch_time",
        "total_watch_time": "ig_reels_video_view_total_time",
        "follower_count": "followers_count",
        "demographics": "follower_demographics",
    },
}

#: Platform name → standard name (the reverse of METRIC_MAPPINGS).
REVERSE_MAPPINGS: dict[str, dict[str, str]] = {
    platform: {field: name for name, field in fields.items()}
    for platform, fields in METRIC_MAPPINGS.items()
}

#: Metrics a platform's APIs cannot give (for this account), with the reason.
UNAVAILABLE: dict[str, dict[str, str]] = {
    "tiktok": {
        "sound_usage": "The TikTok Display API and API for Business carry no "
        "music/sound data for a creator's videos.",
        "video_retention": "Needs a TikTok business account connected to the "
        "API for Business; the Display API has no retention data.",
        "audience_demographics": "Needs a TikTok business account connected to "
        "the API for Business with at least 100 followers.",
    },
    "youtube": {
        # The guide's click-through rate is the thumbnail one (impressions
        # that became views). The Analytics API's metrics (PLATFORM_APIS.md
        # 2.4) do not include it; cardClickRate is a different metric.
        "click_through_rate": "YouTube's thumbnail click-through rate is not "
        "among the YouTube Analytics API metrics (only YouTube Studio shows "
        "it); cardClickRate counts clicks on info cards, a different metric.",
    },
    "instagram": {},
}

#: Instagram insights metrics Meta retired (asking for one fails the call).
RETIRED_INSTAGRAM_METRICS = frozenset(
    {
        "video_views",
        "impressions",
        "plays",
        "clips_replays_count",
        "ig_reels_aggregated_all_plays_count",
        "profile_views",
    }
)


def to_int(value: Any, *, field: str, context: Mapping[str, Any] | None = None) -> int:
    """Convert a count exactly to a 64-bit int, or raise PlatformDataError.

    Accepts ints, integral floats (12.0) and strings holding either ("12",
    "12.0"); refuses fractions (12.5), booleans, and values outside int64.
    Strings go through Decimal, so "9007199254740993" stays exact.
    """
    ctx = {"field": field, "value": repr(value)[:80], **(context or {})}
    if isinstance(value, bool) or value is None:
        raise PlatformDataError(
            f"{field}: expected a count, got {value!r}", context=ctx
        )
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise PlatformDataError(f"{field}: {value!r} is not whole", context=ctx)
        number = int(value)
    elif isinstance(value, str):
        try:
            exact = Decimal(value.strip())
        except InvalidOperation:
            raise PlatformDataError(
                f"{field}: {value!r} is not a number", context=ctx
            ) from None
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise PlatformDataError(f"{field}: {value!r} is not whole", context=ctx)
        number = int(exact)
    else:
        raise PlatformDataError(
            f"{field}: expected a count, got {type(value).__name__}", context=ctx
        )
    if not INT64_MIN <= number <= INT64_MAX:
        raise PlatformDataError(f"{field}: {value!r} overflows int64", context=ctx)
    return number


def to_float(value: Any, *, field: str) -> float:
    """Convert a rate or duration to float, or raise PlatformDataError."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PlatformDataError(f"{field}: expected a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise PlatformDataError(f"{field}: {value!r} is not a number") from None


class MetricResult:
    """Builds the standard result `{"<id_key>": id, "metrics": {...}, ...}`.

    Every requested metric ends up in `metrics`: a number, or None with the
    reason in `unavailable[name]`. Nothing is ever filled in as 0.
    """

    def __init__(self, *, platform: str, id_key: str, item_id: str) -> None:
        self.platform = platform
        self.id_key = id_key
        self.item_id = item_id
        self.metrics: dict[str, Any] = {}
        self.unavailable: dict[str, str] = {}
        self.sources: dict[str, str] = {}

    def put(self, name: str, value: Any, *, source: str) -> None:
        self.metrics[name] = value
        self.unavailable.pop(name, None)
        self.sources[name] = source

    def missing(self, name: str, reason: str) -> None:
        self.metrics[name] = None
        self.unavailable[name] = reason

    def as_dict(self) -> dict[str, Any]:
        return {
            self.id_key: self.item_id,
            "platform": self.platform,
            "metrics": dict(self.metrics),
            "unavailable": dict(self.unavailable),
            "sources": dict(self.sources),
        }


def ratio(numerator: Iterable[int | None], denominator: int | None) -> float | None:
    """sum(numerator) / denominator, or None when any input is missing or 0 views."""
    parts = list(numerator)
    if denominator is None or denominator == 0 or any(p is None for p in parts):
        return None
    return sum(parts) / denominator  # type: ignore[arg-type]


def engagement_rate(
    platform: str, values: Mapping[str, int | None]
) -> tuple[float | None, str]:
    """The platform's engagement rate from standard counts, with a reason if None."""
    if platform == "tiktok":
        parts = ("like_count", "comment_count", "share_count")
        base = "view_count"
    elif platform == "youtube":
        parts = ("like_count", "comment_count")
        base = "view_count"
    else:
        parts = ("total_interactions",)
        base = "reach"
    missing = [name for name in (*parts, base) if values.get(name) is None]
    if missing:
        return None, f"needs {', '.join(missing)}, which the platform did not give"
    if values[base] == 0:
        return None, f"{base} is 0, so the rate is undefined"
    return ratio((values[name] for name in parts), values[base]), ""


def viral_coefficient(values: Mapping[str, int | None]) -> tuple[float | None, str]:
    """shares / views, with a reason when it cannot be computed."""
    shares = values.get("share_count")
    views = values.get("view_count")
    if shares is None or views is None:
        return None, "needs share_count and view_count, which the platform did not give"
    if views == 0:
        return None, "view_count is 0, so the coefficient is undefined"
    return shares / views, ""


_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)


def hashtags(caption: str) -> list[str]:
    """Hashtags in a caption, lower-cased, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(caption or ""):
        seen.setdefault(tag.lower(), None)
    return list(seen)


def hashtag_performance(
    videos: Iterable[Mapping[str, Any]], *, platform: str = "tiktok"
) -> list[dict[str, Any]]:
    """Per hashtag of the creator's own captions: videos, views, engagement.

    Each video is a mapping with `caption` (or `title`/`video_description`)
    and standard counts. Videos whose views are unknown are counted in
    `videos` but left out of the view figures (`videos_with_views`).
    """
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for video in videos:
        caption = (
            video.get("caption")
            or video.get("video_description")
            or video.get("title")
            or ""
        )
        for tag in hashtags(caption):
            groups[tag].append(video)
    table = []
    for tag, members in groups.items():
        with_views = [v for v in members if v.get("view_count") is not None]
        rates = [
            rate
            for rate, _ in (engagement_rate(platform, v) for v in members)
            if rate is not None
        ]
        total = sum(v["view_count"] for v in with_views)
        table.append(
            {
                "hashtag": tag,
                "videos": len(members),
                "videos_with_views": len(with_views),
                "total_views": total if with_views else None,
                "average_views": total / len(with_views) if with_views else None,
                "average_engagement_rate": sum(rates) / len(rates) if rates else None,
            }
        )
    table.sort(key=lambda row: (-(row["total_views"] or 0), row["hashtag"]))
    return table
