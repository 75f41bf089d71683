"""TikTok: Login Kit v2 OAuth and the Display API v2.

Every Display API reply carries the envelope
`{"data": {...}, "error": {"code": "ok", "message": "", "log_id": "..."}}`;
`ok` is the only success, whatever the HTTP status. OAuth replies are flat
and report errors as `{"error": "invalid_grant", "error_description", "log_id"}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from platforms.clients.base import (
    BasePlatformClient,
    default_redirect_uri,
    run_in_thread,
)
from platforms.clients.tiktok_business import BUSINESS_METRICS, add_business_metrics
from platforms.clients.tiktok_errors import check_reply
from platforms.exceptions import (
    TikTokAPIError,
    TikTokAuthError,
    TikTokRateLimitError,
)
from platforms.metrics import (
    UNAVAILABLE,
    MetricResult,
    engagement_rate,
    hashtag_performance,
    hashtags,
    to_int,
    viral_coefficient,
)

__all__ = ["TikTokClient", "TikTokAuthError", "TikTokRateLimitError", "TikTokAPIError"]

VIDEO_QUERY_BATCH = 20  # Display API: at most 20 ids per video/query
VIDEO_LIST_PAGE = 20  # max_count ≤ 20
VIDEO_FIELDS = (
    "id,create_time,cover_image_url,share_url,video_description,duration,title,"
    "like_count,comment_count,share_count,view_count"
)
USER_FIELDS = (
    "open_id,union_id,avatar_url,display_name,username,"
    "follower_count,following_count,likes_count,video_count"
)
COUNT_FIELDS = ("view_count", "like_count", "comment_count", "share_count")
USER_COUNT_FIELDS = ("follower_count", "following_count", "likes_count", "video_count")
DEFAULT_SCOPES = (
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.list",
)
DEFAULT_VIDEO_METRICS = (*COUNT_FIELDS, "engagement_rate", "viral_coefficient")
BUSINESS_ONLY = (
    "only the TikTok API for Business gives it, for business accounts; "
    "collect_metrics asks for it"
)


class TikTokClient(BasePlatformClient):
    """TikTok Login Kit + Display API client (`client_key`, not `client_id`)."""

    platform = "tiktok"

    def __init__(
        self,
        client_key: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        *,
        app_id: str | None = None,
        app_secret: str | None = None,
        auth_url: str | None = None,
        api_url: str | None = None,
        business_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.client_key = client_key or app_id or settings.TIKTOK_CLIENT_KEY
        self.client_secret = (
            client_secret or app_secret or settings.TIKTOK_CLIENT_SECRET
        )
        self.redirect_uri = redirect_uri or default_redirect_uri("tiktok")
        self.auth_url = (auth_url or settings.TIKTOK_AUTH_URL).rstrip("/")
        self.api_url = (api_url or settings.TIKTOK_API_URL).rstrip("/")
        self.business_url = (business_url or settings.TIKTOK_BUSINESS_API_URL).rstrip(
            "/"
        )
        #: open_id of the connected user, from the last token reply.
        self.open_id: str | None = None

    @property
    def app_id(self) -> str:
        return self.client_key

    # --- OAuth ----------------------------------------------------------------

    def get_authorization_url(
        self,
        *,
        state: str = "",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        code_challenge: str | None = None,
    ) -> str:
        """The Login Kit consent URL to send the creator to."""
        # Reference: https://developers.tiktok.com/doc/login-kit-web/
        query = {
            "client_key": self.client_key,
            "scope": ",".join(scopes),
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "state": state,
        }
        if code_challenge:
            query |= {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        return f"{self.auth_url}/v2/auth/authorize/?{urlencode(query)}"

    def get_access_token(self, code: str, *, code_verifier: str | None = None) -> dict:
        """Exchange an authorization code for tokens (kept on this client)."""
        form = {
            "client_key": self.client_key,
            "client_secret": self.client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": self.redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        reply = self._token_call(form)
        self._use_reply(reply)
        self.open_id = reply.get("open_id")
        return reply

    def request_token_refresh(self, refresh_token: str) -> Mapping[str, Any]:
        """grant_type=refresh_token; TikTok rotates the refresh token."""
        return self._token_call(
            {
                "client_key": self.client_key,
                "client_secret": self.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            }
        )

    async def refresh_auth_token(self) -> dict[str, Any]:
        """Refresh the access token; the rotated refresh token is saved with it."""
        return await run_in_thread(self.refresh_now)

    def _token_call(self, form: Mapping[str, str]) -> dict[str, Any]:
        # Reference: https://developers.tiktok.com/doc/oauth-user-access-token-management
        reply = self.request(
            "tiktok.oauth.token",
            "POST",
            f"{self.api_url}/v2/oauth/token/",
            data=form,
            auth=False,
        )
        if not isinstance(reply.get("access_token"), str):
            raise self.data_error("tiktok.oauth.token", "no access_token in reply")
        return reply

    # --- Display API -----------------------------------------------------------

    def get_user_metrics(self) -> dict[str, Any]:
        """follower_count, following_count, likes_count, video_count of the user."""
        # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
        data = self.request(
            "tiktok.user.info",
            "GET",
            f"{self.api_url}/v2/user/info/",
            params={"fields": USER_FIELDS},
        )
        user = data.get("user")
        if not isinstance(user, dict):
            raise self.data_error("tiktok.user.info", "data.user missing", data=data)
        result = MetricResult(
            platform="tiktok", id_key="user_id", item_id=str(user.get("open_id", ""))
        )
        for name in USER_COUNT_FIELDS:
            self._put_count(result, user, name, "tiktok.user.info")
        out = result.as_dict()
        out["profile"] = {
            key: user.get(key) for key in ("display_name", "username", "avatar_url")
        }
        return out

    def list_videos(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The user's videos, newest first, with their counts (20 per request)."""
        videos: list[dict[str, Any]] = []
        cursor: int | None = None
        while limit is None or len(videos) < limit:
            body: dict[str, Any] = {"max_count": VIDEO_LIST_PAGE}
            if cursor is not None:
                body["cursor"] = cursor
            # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-video-list
            data = self.request(
                "tiktok.video.list",
                "POST",
                f"{self.api_url}/v2/video/list/",
                params={"fields": VIDEO_FIELDS},
                json_body=body,
            )
            page = self._videos_of(data, "tiktok.video.list")
            videos.extend(page)
            # A page can be short while has_more is still true: follow the flag.
            if not data.get("has_more"):
                break
            next_cursor = data.get("cursor")
            if next_cursor is None or next_cursor == cursor:
                raise self.data_error(
                    "tiktok.video.list", "has_more without a new cursor"
                )
            cursor = to_int(next_cursor, field="cursor")
        return videos[:limit] if limit is not None else videos

    def get_video_metrics(
        self, video_id: str | Iterable[str], *, metrics: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Counts of one video, or `{id: result}` for many (20 ids per request).

        Items are matched by `id`; ids TikTok leaves out (deleted, private or
        another user's) come back with every metric None and the reason.
        """
        single = isinstance(video_id, str)
        ids = [video_id] if single else list(dict.fromkeys(video_id))
        wanted = list(metrics or DEFAULT_VIDEO_METRICS)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), VIDEO_QUERY_BATCH):
            batch = ids[start : start + VIDEO_QUERY_BATCH]
            # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-video-query
            data = self.request(
                "tiktok.video.query",
                "POST",
                f"{self.api_url}/v2/video/query/",
                params={"fields": VIDEO_FIELDS},
                json_body={"filters": {"video_ids": batch}},
            )
            for video in self._videos_of(data, "tiktok.video.query"):
                if video["id"] in batch:  # never trust position, nor strangers
                    found[video["id"]] = video
        results = {}
        for vid in ids:
            if vid in found:
                results[vid] = self.transform_metrics(found[vid], requested=wanted)
            else:
                results[vid] = self._not_returned(vid, wanted)
        return results[ids[0]] if single else results

    def fetch_metrics(
        self, *, video_id: str, metrics: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Body of `collect_metrics`: the video's counts and derived figures."""
        wanted = list(metrics or DEFAULT_VIDEO_METRICS)
        result = self.get_video_metrics(video_id, metrics=wanted)
        if "follower_count" in wanted and result.get("available", True):
            user = self.get_user_metrics()
            value = user["metrics"].get("follower_count")
            self._merge(result, "follower_count", value, user["unavailable"])
        if "hashtag_performance" in wanted and result.get("available", True):
            own = self.list_videos()
            tags = set(hashtags(result.get("caption", "")))
            table = [row for row in hashtag_performance(own) if row["hashtag"] in tags]
            self._merge(result, "hashtag_performance", table, {})
        if result.get("available", True):
            add_business_metrics(self, result, wanted)
        return result

    @property
    def business_id(self) -> str:
        """The Business API's business_id: the user's open_id for this app."""
        if self.open_id is None and self.account is not None:
            self.open_id = self.account.platform_user_id or None
        if self.open_id is None:
            self.open_id = self.get_user_metrics()["user_id"]
        return self.open_id

    # --- parsing ------------------------------------------------------------------

    def _videos_of(self, data: Mapping[str, Any], endpoint: str) -> list[dict]:
        videos = data.get("videos")
        if not isinstance(videos, list):
            raise self.data_error(endpoint, "data.videos is not a list", data=data)
        for video in videos:
            if not isinstance(video, dict) or not isinstance(video.get("id"), str):
                raise self.data_error(
                    endpoint, "video without a string id", video=video
                )
        return videos

    def transform_metrics(
        self, raw: Mapping[str, Any], *, requested: list[str] | None = None
    ) -> dict[str, Any]:
        wanted = requested or list(DEFAULT_VIDEO_METRICS)
        result = MetricResult(platform="tiktok", id_key="video_id", item_id=raw["id"])
        counts: dict[str, int | None] = {}
        for name in COUNT_FIELDS:
            counts[name] = self._put_count(result, raw, name, "tiktok.video.query")
        derived = {
            "engagement_rate": engagement_rate("tiktok", counts),
            "viral_coefficient": viral_coefficient(counts),
        }
        for name in wanted:
            if name in derived:
                value, reason = derived[name]
                if value is None:
                    result.missing(name, reason)
                else:
                    result.put(name, value, source="derived")
            elif name in BUSINESS_METRICS:
                result.missing(name, BUSINESS_ONLY)
            elif name in UNAVAILABLE["tiktok"]:
                result.missing(name, UNAVAILABLE["tiktok"][name])
            elif name not in result.metrics and name not in (
                "follower_count",
                "hashtag_performance",
            ):
                result.missing(name, f"unknown TikTok metric {name!r}")
        out = result.as_dict()
        # Keep only what was asked for, plus the counts the formulas used.
        keep = set(wanted)
        out["metrics"] = {k: v for k, v in out["metrics"].items() if k in keep}
        out["unavailable"] = {k: v for k, v in out["unavailable"].items() if k in keep}
        out["available"] = True
        out["caption"] = raw.get("video_description") or raw.get("title") or ""
        if raw.get("create_time") is not None:
            out["create_time"] = to_int(raw["create_time"], field="create_time")
        return out

    def _put_count(
        self, result: MetricResult, raw: Mapping[str, Any], name: str, source: str
    ) -> int | None:
        if raw.get(name) is None:
            result.missing(name, f"TikTok did not return {name}")
            return None
        value = to_int(raw[name], field=name, context={"id": result.item_id})
        result.put(name, value, source=source)
        return value

    def _not_returned(self, video_id: str, wanted: list[str]) -> dict[str, Any]:
        reason = (
            "video not returned by TikTok: deleted, private, or not a video of "
            "this account"
        )
        result = MetricResult(platform="tiktok", id_key="video_id", item_id=video_id)
        for name in wanted:
            result.missing(name, reason)
        return {**result.as_dict(), "available": False}

    @staticmethod
    def _merge(
        result: dict[str, Any], name: str, value: Any, unavailable: Mapping[str, str]
    ) -> None:
        result["metrics"][name] = value
        if value is None:
            result["unavailable"][name] = unavailable.get(name, "not returned")
        else:
            result["unavailable"].pop(name, None)

    # --- validation ---------------------------------------------------------------

    def validate_response(self, response: httpx.Response, *, endpoint: str) -> Any:
        return check_reply(self, response, endpoint)
