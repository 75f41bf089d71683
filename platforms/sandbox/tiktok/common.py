"""TikTok constants: scopes, fields and error messages."""

from __future__ import annotations

SCOPE_FIELDS = {
    "user.info.basic": (
        "open_id",
        "union_id",
        "avatar_url",
        "avatar_url_100",
        "avatar_large_url",
        "display_name",
    ),
    "user.info.profile": (
        "bio_description",
        "profile_deep_link",
        "is_verified",
        "username",
    ),
    "user.info.stats": (
        "follower_count",
        "following_count",
        "likes_count",
        "video_count",
    ),
}

FIELD_SCOPE = {f: scope for scope, fields in SCOPE_FIELDS.items() for f in fields}

KNOWN_SCOPES = set(SCOPE_FIELDS) | {"video.list"}

VIDEO_FIELDS = (
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
)

BUSINESS_ACCOUNT_FIELDS = (
    "username",
    "display_name",
    "profile_image",
    "is_business_account",
    "followers_count",
    "audience_ages",
    "audience_genders",
    "audience_countries",
    "audience_cities",
)

BUSINESS_DAILY_FIELDS = (
    "video_views",
    "profile_views",
    "likes",
    "comments",
    "shares",
    "daily_new_followers",
    "daily_lost_followers",
    "followers_count",
    "audience_activity",
)

BUSINESS_VIDEO_FIELDS = (
    "item_id",
    "create_time",
    "thumbnail_url",
    "share_url",
    "embed_url",
    "caption",
    "video_duration",
    "reach",
    "video_views",
    "likes",
    "comments",
    "shares",
    "favorites",
    "total_time_watched",
    "average_time_watched",
    "full_video_watched_rate",
    "video_view_retention",
    "impression_sources",
    "audience_countries",
    "audience_types",
)

MESSAGES = {
    "access_token_invalid": "The access token is invalid or not found in the request.",
    "scope_not_authorized": (
        "The user did not authorize the scope required for completing this request."
    ),
    "invalid_params": "The request parameters are invalid.",
    "rate_limit_exceeded": "The API rate limit was exceeded. Please try again later.",
    "internal_error": "Something went wrong. Please try again later.",
}

STATUS = {
    "access_token_invalid": 401,
    "scope_not_authorized": 401,
    "invalid_params": 400,
    "rate_limit_exceeded": 429,
    "internal_error": 500,
}
