"""Instagram Graph constants: metrics, titles, fields and cursor helpers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

V = r"(?:/v\d+\.\d+)?"

PACIFIC = ZoneInfo("America/Los_Angeles")

RETIRED = {
    "video_views": (
        "(#100) The video_views metric is no longer supported. Please use "
        "views instead."
    ),
    "impressions": (
        "(#100) Starting from version v22.0 and above, the impressions metric is no "
        "longer supported. Please use views instead."
    ),
    "plays": (
        "(#100) Starting from version v22.0 and above, the plays metric is "
        "no longer supported. Please use views instead."
    ),
    "clips_replays_count": (
        "(#100) Starting from version v22.0 and above, the "
        "clips_replays_count metric is no longer supported."
    ),
    "ig_reels_aggregated_all_plays_count": (
        "(#100) Starting from version v22.0 and above, the "
        "ig_reels_aggregated_all_plays_count metric is no longer supported."
    ),
}

MEDIA_METRICS = {
    "FEED": (
        "views",
        "reach",
        "likes",
        "comments",
        "shares",
        "saved",
        "total_interactions",
        "follows",
        "profile_visits",
        "profile_activity",
    ),
    "REELS": (
        "views",
        "reach",
        "likes",
        "comments",
        "shares",
        "saved",
        "total_interactions",
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
    ),
    "STORY": (
        "views",
        "reach",
        "replies",
        "shares",
        "follows",
        "profile_visits",
        "total_interactions",
        "navigation",
        "profile_activity",
    ),
}

TITLES = {
    "views": ("Views", "The number of times your content was played or displayed."),
    "reach": (
        "Accounts reached",
        "The number of unique accounts that have seen your content, at least once.",
    ),
    "likes": ("Likes", "The number of likes on your content."),
    "comments": ("Comments", "The number of comments on your content."),
    "shares": ("Shares", "The number of shares of your content."),
    "saved": ("Saves", "The number of saves of your content."),
    "saves": ("Saves", "The number of saves of your content."),
    "total_interactions": (
        "Interactions",
        "The total number of interactions on your content.",
    ),
    "follows": ("Follows", "The number of accounts that started following you."),
    "profile_visits": (
        "Profile visits",
        "The number of times your profile was visited.",
    ),
    "profile_activity": (
        "Profile activity",
        "The number of actions people took on your profile.",
    ),
    "ig_reels_avg_watch_time": (
        "Average watch time",
        "The average time your reel was played, in milliseconds.",
    ),
    "ig_reels_video_view_total_time": (
        "Watch time",
        "The total time your reel was played, in milliseconds.",
    ),
    "replies": ("Replies", "The number of replies to your story."),
    "navigation": ("Navigation", "The number of navigation actions on your story."),
    "accounts_engaged": (
        "Accounts engaged",
        "The number of accounts that interacted with your content.",
    ),
    "follower_count": (
        "Follower count",
        "Total number of new followers each day within the specified range",
    ),
    "online_followers": (
        "Online followers",
        "Total number of your followers who were online during the specified range",
    ),
    "profile_views": ("Profile views", "The number of times your profile was visited."),
    "website_clicks": (
        "Website taps",
        "The number of taps on the website link in your profile.",
    ),
    "profile_links_taps": (
        "Profile links taps",
        (
            "The number of taps on your business address, call button, email "
            "button and text button."
        ),
    ),
    "follows_and_unfollows": (
        "Follows and unfollows",
        "The number of accounts that followed or unfollowed you.",
    ),
    "follower_demographics": (
        "Follower demographics",
        "The demographic characteristics of followers.",
    ),
    "engaged_audience_demographics": (
        "Engaged audience demographics",
        "The demographic characteristics of the engaged audience.",
    ),
}

TIME_SERIES = {"reach", "follower_count", "online_followers"}

TOTAL_VALUE = {
    "reach", "views", "accounts_engaged", "total_interactions", "likes", "comments",
    "shares", "saves", "replies", "follows_and_unfollows", "profile_links_taps",
    "profile_views", "website_clicks",
}  # fmt: skip

DEMOGRAPHICS = {"follower_demographics", "engaged_audience_demographics"}

USER_FIELDS = (
    "id", "ig_id", "username", "name", "biography", "profile_picture_url", "website",
    "followers_count", "follows_count", "media_count",
)  # fmt: skip

MEDIA_FIELDS = (
    "id", "caption", "media_type", "media_product_type", "media_url", "permalink",
    "thumbnail_url", "timestamp", "like_count", "comments_count", "username", "owner",
    "shortcode", "is_comment_enabled", "children",
)  # fmt: skip


def cursor(position: int) -> str:
    return base64.b64encode(f"sb-cursor:{position}".encode()).decode()


def read_cursor(cursor: str) -> int | None:
    try:
        prefix, _, number = base64.b64decode(cursor).decode().partition(":")
        return int(number) if prefix == "sb-cursor" else None
    except ValueError:
        return None


def pacific_end(now: float) -> str:
    local = datetime.fromtimestamp(now, PACIFIC)
    start = datetime(local.year, local.month, local.day, tzinfo=PACIFIC)
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
