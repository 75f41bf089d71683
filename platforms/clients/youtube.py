"""YouTube: Google OAuth, Data API v3 (statistics) and Analytics API v2.

Every Data API and Analytics call is charged to the project's daily quota
ledger *before* it is sent (failed calls cost units too). Statistics come
as strings and are converted exactly; `likeCount`/`commentCount` are
absent when hidden or disabled, which is reported, never filled with 0.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from platforms.clients.base import (
    BasePlatformClient,
    default_redirect_uri,
    run_in_thread,
)
from platforms.clients.etags import ETAGS, ETagCache, cache_key
from platforms.clients.pipeline import NOT_MODIFIED
from platforms.clients.youtube_errors import check_reply
from platforms.exceptions import (
    PlatformError,
    PlatformQuotaError,
    YouTubeAPIError,
    YouTubeAuthError,
    YouTubeQuotaExceeded,
)
from platforms.metrics import (
    MetricResult,
    engagement_rate,
    to_int,
)
from platforms.quota import DEFAULT_YOUTUBE_COSTS, QuotaLedger, quota_day

__all__ = [
    "YouTubeClient",
    "YouTubeQuotaExceeded",
    "YouTubeAuthError",
    "YouTubeAPIError",
]

VIDEOS_PER_CALL = 50  # videos.list: at most 50 ids
PAGE_SIZE = 50  # playlistItems.list maxResults ≤ 50
STAT_FIELDS = {
    "view_count": "viewCount",
    "like_count": "likeCount",
    "comment_count": "commentCount",
}
HIDDEN_REASONS = {
    "like_count": "likes are hidden on this video",
    "comment_count": "comments are disabled on this video",
    "view_count": "YouTube did not return viewCount",
}
#: YouTube's launch: "the video's whole life" for Analytics date ranges.
LIFETIME_START = "2005-02-14"
DEFAULT_ANALYTICS = ("views", "watch_time", "average_view_duration", "engagement_rate")
SCOPES = (
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
_ANALYTICS_ENDPOINT = "youtube.analytics.reports"


class YouTubeClient(BasePlatformClient):
    """YouTube Data + Analytics client with a quota ledger and ETag caching."""

    platform = "youtube"

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        *,
        redirect_uri: str | None = None,
        project: str | None = None,
        daily_quota: int | None = None,
        auth_url: str | None = None,
        token_url: str | None = None,
        api_url: str | None = None,
        analytics_url: str | None = None,
        etag_cache: ETagCache | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.client_id = client_id or settings.GOOGLE_CLIENT_ID
        self.client_secret = client_secret or settings.GOOGLE_CLIENT_SECRET
        self.api_key = api_key if api_key is not None else settings.YOUTUBE_API_KEY
        self.redirect_uri = redirect_uri or default_redirect_uri("google")
        self.auth_url = (auth_url or settings.GOOGLE_AUTH_URL).rstrip("/")
        self.token_url = (token_url or settings.GOOGLE_TOKEN_URL).rstrip("/")
        self.api_url = (api_url or settings.YOUTUBE_API_URL).rstrip("/")
        self.analytics_url = (analytics_url or settings.YOUTUBE_ANALYTICS_URL).rstrip(
            "/"
        )
        self.quota_costs = dict(DEFAULT_YOUTUBE_COSTS)
        self.ledger = QuotaLedger(
            platform="youtube",
            project=project or self.client_id or "default",
            daily_limit=daily_quota or settings.YOUTUBE_DAILY_QUOTA,
        )
        #: ETag revalidation cache, shared by every client in the process.
        self.etags: ETagCache = etag_cache or ETAGS

    @property
    def app_id(self) -> str:
        return self.client_id

    def configure_quota(
        self,
        *,
        daily_quota: int | None = None,
        quota_costs: Mapping[str, int] | None = None,
    ) -> None:
        """Set the project's daily units and what each kind of call costs."""
        if daily_quota is not None:
            self.ledger.daily_limit = daily_quota
        self.quota_costs.update(quota_costs or {})

    # --- OAuth ----------------------------------------------------------------

    def get_authorization_url(
        self, *, state: str = "", scopes: Iterable[str] = SCOPES
    ) -> str:
        """Google's consent URL; offline + consent so a refresh token comes back."""
        query = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes),
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
        }
        return f"{self.auth_url}/o/oauth2/v2/auth?{urlencode(query)}"

    def get_access_token(self, code: str, *, code_verifier: str | None = None) -> dict:
        """Exchange an authorization code for tokens (kept on this client)."""
        form = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": self.redirect_uri,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        reply = self._token_call(form)
        self._use_reply(reply)
        return reply

    def request_token_refresh(self, refresh_token: str) -> Mapping[str, Any]:
        """Google refresh replies usually omit refresh_token: the old one stays."""
        return self._token_call(
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            }
        )

    async def refresh_credentials(self) -> dict[str, Any]:
        """Refresh the access token (once across workers for a stored account)."""
        return await run_in_thread(self.refresh_now)

    def _token_call(self, form: Mapping[str, str]) -> dict[str, Any]:
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
        reply = self.request(
            "google.oauth.token",
            "POST",
            f"{self.token_url}/token",
            data=form,
            auth=False,
        )
        if not isinstance(reply, dict) or not isinstance(
            reply.get("access_token"), str
        ):
            raise self.data_error("google.oauth.token", "no access_token in reply")
        return reply

    # --- Data API ----------------------------------------------------------------

    def _uses_oauth(self) -> bool:
        self._load_credential()
        return bool(self._access_token)

    def data_get(self, resource: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET a Data API list resource with ETag revalidation; 1 unit per call."""
        endpoint = f"youtube.{resource}"
        query = dict(params)
        oauth = self._uses_oauth()
        if not oauth:
            query["key"] = self.api_key
        url = f"{self.api_url}/youtube/v3/{resource}"
        key = cache_key(self._cache_identity(oauth), url, params)
        headers = {}
        cached = self.etags.get(key)
        if cached:
            headers["If-None-Match"] = cached[0]
        reply = self.request(
            endpoint,
            "GET",
            url,
            params=query,
            headers=headers,
            auth=oauth,
            quota_cost=self.quota_costs["data_read"],
            validate=self._with_etag,
        )
        if reply is NOT_MODIFIED:
            if not cached:
                raise self.data_error(endpoint, "304 to an unconditional request")
            return cached[1]
        payload, etag = reply
        if not isinstance(payload.get("items", []), list):
            raise self.data_error(endpoint, "reply without an items list")
        if etag:
            self.etags.put(key, etag, payload)
        return payload

    def _cache_identity(self, oauth: bool) -> str:
        """Whose view of the resource a reply is (`mine=true` differs per user).

        A stored account keeps its identity across token refreshes; without
        one, the token or API key itself identifies the caller (hashed into
        the cache key, never kept as it is).
        """
        if oauth and self.account is not None:
            return f"account:{self.account.pk}"
        if oauth:
            return f"token:{self._access_token}"
        return f"key:{self.api_key}"

    def _with_etag(self, response: httpx.Response, endpoint: str) -> tuple[dict, str]:
        # Reference: https://developers.google.com/youtube/v3/getting-started#etags
        body = self.validate_response(response, endpoint=endpoint)
        etag = response.headers.get("etag") or body.get("etag") or ""
        return body, str(etag)

    def get_video_statistics(
        self, video_ids: Iterable[str], *, metrics: Iterable[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Statistics of many videos, 50 ids per videos.list call, matched by id."""
        ids = list(dict.fromkeys(video_ids))
        wanted = list(metrics or (*STAT_FIELDS, "engagement_rate"))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), VIDEOS_PER_CALL):
            batch = ids[start : start + VIDEOS_PER_CALL]
            # Reference: https://developers.google.com/youtube/v3/docs/videos/list
            page = self.data_get(
                "videos",
                {
                    "part": "statistics",
                    "id": ",".join(batch),
                    "fields": "etag,items(id,statistics)",
                },
            )
            for item in page.get("items", []):
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise self.data_error("youtube.videos", "item without an id")
                if item["id"] in batch:
                    found[item["id"]] = item
        out = {}
        for vid in ids:
            if vid in found:
                out[vid] = self.transform_metrics(found[vid], requested=wanted)
            else:
                result = MetricResult(
                    platform="youtube", id_key="video_id", item_id=vid
                )
                for name in wanted:
                    result.missing(name, "video not returned: deleted or private")
                out[vid] = {**result.as_dict(), "available": False}
        return out

    def get_video_metrics(self, video_id: str, **kwargs: Any) -> dict[str, Any]:
        return self.get_video_statistics([video_id], **kwargs)[video_id]

    def get_channel_metrics(self, *, channel_id: str | None = None) -> dict[str, Any]:
        """subscriber_count, view_count and video_count of a channel (own by default).

        `subscriberCount` is absent when the channel hides it: reported as
        missing with that reason, never 0.
        """
        channel = self._channel(channel_id, part="statistics")
        stats = channel.get("statistics") or {}
        result = MetricResult(
            platform="youtube", id_key="channel_id", item_id=channel["id"]
        )
        for name, field in (
            ("subscriber_count", "subscriberCount"),
            ("view_count", "viewCount"),
            ("video_count", "videoCount"),
        ):
            if stats.get(field) is None:
                hidden = name == "subscriber_count" and stats.get(
                    "hiddenSubscriberCount"
                )
                result.missing(
                    name,
                    "the channel hides its subscriber count"
                    if hidden
                    else f"YouTube did not return {field}",
                )
            else:
                result.put(
                    name, to_int(stats[field], field=field), source="youtube.channels"
                )
        return result.as_dict()

    def _channel(self, channel_id: str | None, *, part: str) -> dict[str, Any]:
        params: dict[str, Any] = {"part": part}
        params |= {"id": channel_id} if channel_id else {"mine": "true"}
        # Reference: https://developers.google.com/youtube/v3/docs/channels/list
        items = self.data_get("channels", params).get("items", [])
        if channel_id:  # match by id: several channels may come back
            items = [
                c for c in items if isinstance(c, dict) and c.get("id") == channel_id
            ]
        if len(items) != 1 or not isinstance(items[0].get("id"), str):
            raise self.data_error(
                "youtube.channels", "channel not found", id=channel_id
            )
        return items[0]

    def list_upload_ids(self, *, channel_id: str | None = None) -> list[str]:
        """Ids of every upload of the channel (its own when channel_id is None)."""
        channel = self._channel(channel_id, part="contentDetails")
        try:
            uploads = channel["contentDetails"]["relatedPlaylists"]["uploads"]
        except (KeyError, TypeError):
            raise self.data_error("youtube.channels", "no uploads playlist") from None
        ids: list[str] = []
        token: str | None = None
        while True:
            query = {
                "part": "contentDetails",
                "playlistId": uploads,
                "maxResults": PAGE_SIZE,
            }
            if token:
                query["pageToken"] = token
            # Reference: https://developers.google.com/youtube/v3/docs/playlistItems/list
            page = self.data_get("playlistItems", query)
            ids += [self._playlist_video_id(item) for item in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                return ids

    def _playlist_video_id(self, item: Any) -> str:
        """contentDetails.videoId, or snippet.resourceId.videoId with part=snippet."""
        if isinstance(item, dict):
            details = item.get("contentDetails") or {}
            resource = (item.get("snippet") or {}).get("resourceId") or {}
            video_id = details.get("videoId") or resource.get("videoId")
            if isinstance(video_id, str):
                return video_id
        raise self.data_error("youtube.playlistItems", "item without a videoId")

    def transform_metrics(
        self, raw: Mapping[str, Any], *, requested: list[str] | None = None
    ) -> dict[str, Any]:
        wanted = requested or [*STAT_FIELDS, "engagement_rate"]
        stats = raw.get("statistics") or {}
        if not isinstance(stats, dict):
            raise self.data_error("youtube.videos", "statistics is not an object")
        result = MetricResult(platform="youtube", id_key="video_id", item_id=raw["id"])
        counts: dict[str, int | None] = {}
        for name, field in STAT_FIELDS.items():
            if stats.get(field) is None:
                counts[name] = None
                result.missing(name, HIDDEN_REASONS[name])
            else:
                counts[name] = to_int(
                    stats[field], field=field, context={"id": raw["id"]}
                )
                result.put(name, counts[name], source="youtube.videos")
        rate, reason = engagement_rate("youtube", counts)
        if rate is None:
            result.missing("engagement_rate", reason)
        else:
            result.put("engagement_rate", rate, source="derived")
        out = result.as_dict()
        for key in ("metrics", "unavailable"):
            out[key] = {k: v for k, v in out[key].items() if k in wanted}
        for name in wanted:
            if name not in out["metrics"]:
                out["metrics"][name] = None
                out["unavailable"][name] = (
                    f"{name} comes from the Analytics API: use get_analytics()"
                )
        out["available"] = True
        return out

    def fetch_metrics(
        self,
        *,
        video_id: str,
        metrics: Iterable[str] | None = None,
        start_date: str | date | None = None,
        end_date: str | date | None = None,
    ) -> dict[str, Any]:
        """Body of `collect_metrics`: statistics, plus Analytics totals if asked.

        Counters (view_count, like_count, comment_count, engagement_rate) come
        from one videos.list unit; the other metrics from the Analytics API
        over `start_date`..`end_date` (default: the video's whole life).
        """
        wanted = list(metrics or (*STAT_FIELDS, "engagement_rate"))
        counters = [m for m in wanted if m in (*STAT_FIELDS, "engagement_rate")]
        others = [m for m in wanted if m not in counters]
        if counters or not others:
            result = self.get_video_metrics(video_id, metrics=counters or None)
        else:
            result = {
                **MetricResult(
                    platform="youtube", id_key="video_id", item_id=video_id
                ).as_dict(),
                "available": True,
            }
        if not others:
            return result
        if not self._uses_oauth():
            for name in others:
                result["metrics"][name] = None
                result["unavailable"][name] = (
                    "needs the creator's OAuth token: the Analytics API does not "
                    "accept an API key"
                )
            return result
        analytics = self.fetch_analytics(
            video_id=video_id,
            metrics=others,
            start_date=start_date or LIFETIME_START,
            end_date=end_date or quota_day(datetime.now(UTC)),
        )
        for key in ("metrics", "unavailable", "sources"):
            result[key].update(analytics[key])
        result["period"] = analytics["period"]
        return result

    # --- Analytics API ---------------------------------------------------------------

    async def get_analytics(self, **kwargs: Any) -> dict[str, Any]:
        """Analytics of one video over a date range (see `fetch_analytics`)."""
        return await run_in_thread(self.fetch_analytics, **kwargs)

    def fetch_analytics(
        self,
        *,
        video_id: str,
        metrics: Iterable[str] = DEFAULT_ANALYTICS,
        start_date: str | date,
        end_date: str | date,
    ) -> dict[str, Any]:
        """Totals of the video's Analytics metrics between two dates (inclusive)."""
        from platforms.clients.youtube_analytics import collect_analytics

        return collect_analytics(
            self,
            video_id=video_id,
            metrics=list(metrics),
            start_date=str(start_date),
            end_date=str(end_date),
        )

    def report(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """One Analytics API report (charged `analytics_read` units)."""
        # Reference: https://developers.google.com/youtube/analytics/reference/reports/query
        return self.request(
            _ANALYTICS_ENDPOINT,
            "GET",
            f"{self.analytics_url}/v2/reports",
            params={"ids": "channel==MINE", **params},
            quota_cost=self.quota_costs["analytics_read"],
        )

    # --- hooks and validation ---------------------------------------------------------

    @property
    def quota_project(self) -> str:
        return self.ledger.project

    def charge_quota(self, endpoint: str, cost: int) -> None:
        self.ledger.charge(cost, what=endpoint)

    def on_error(self, error: PlatformError) -> None:
        if isinstance(error, PlatformQuotaError) and error.reason == "quotaExceeded":
            until = self.ledger.mark_exhausted(reason=error.message)
            error.retry_after = max(0.0, until.timestamp() - time.time())

    def validate_response(self, response: httpx.Response, *, endpoint: str) -> Any:
        return check_reply(self, response, endpoint)
