"""Instagram: Facebook Login and the Instagram Graph API (business accounts).

Graph errors are `{"error": {"code", "error_subcode", "fbtrace_id", ...}}`.
One retired metric in an insights request fails the whole call with code
100; the client drops it, records it and asks again with the rest. Usage
headers (`X-App-Usage`, `X-Business-Use-Case-Usage`) are stored on the
rate-limit buckets, and workers slow down above 80 %.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from platforms.clients.base import BasePlatformClient, default_redirect_uri
from platforms.clients.instagram_errors import check_reply, read_usage
from platforms.clients.instagram_insights import (
    MEDIA_METRICS,
    STORY_METRICS,
    InsightsMixin,
    items_by_name,
)
from platforms.exceptions import (
    InstagramAPIError,
    InstagramAuthError,
    InstagramRateLimitError,
    PlatformAuthError,
    PlatformError,
)
from platforms.metrics import MetricResult, to_int
from platforms.ratelimit import APP_USAGE_CLASS, ENDPOINT_CLASSES, BucketSpec
from platforms.tokens import mark_reconnect_needed

__all__ = [
    "InstagramClient",
    "InstagramAuthError",
    "InstagramRateLimitError",
    "InstagramAPIError",
    "MEDIA_METRICS",
    "STORY_METRICS",
]

SCOPES = (
    "instagram_basic",
    "instagram_manage_insights",
    "pages_read_engagement",
    "pages_show_list",
)
PROFILE_FIELDS = (
    "id,username,name,profile_picture_url,followers_count,follows_count,media_count"
)
MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,permalink,thumbnail_url,timestamp,"
    "like_count,comments_count"
)


class InstagramClient(InsightsMixin, BasePlatformClient):
    """Instagram Graph API client over a Facebook Login user token."""

    platform = "instagram"

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        *,
        ig_user_id: str | None = None,
        graph_version: str | None = None,
        www_url: str | None = None,
        graph_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.client_id = client_id or settings.FACEBOOK_APP_ID
        self.client_secret = client_secret or settings.FACEBOOK_APP_SECRET
        self.redirect_uri = redirect_uri or default_redirect_uri("facebook")
        self.version = graph_version or settings.FACEBOOK_GRAPH_VERSION
        self.www_url = (www_url or settings.FACEBOOK_WWW_URL).rstrip("/")
        self.graph_url = (graph_url or settings.FACEBOOK_GRAPH_URL).rstrip("/")
        if ig_user_id is None and self.account is not None:
            ig_user_id = self.account.platform_user_id or None
        self._ig_user_id = ig_user_id
        #: Metrics Graph refused as retired during this client's life.
        self.retired_metrics: set[str] = set()
        #: The last usage Graph reported, in percent of its limit.
        self.reported_usage_percent: float | None = None

    @property
    def app_id(self) -> str:
        return self.client_id

    def graph(self, path: str) -> str:
        return f"{self.graph_url}/{self.version}/{path.lstrip('/')}"

    # --- OAuth ----------------------------------------------------------------

    def get_authorization_url(
        self, *, state: str = "", scopes: Iterable[str] = SCOPES
    ) -> str:
        """The Facebook Login dialog URL."""
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
        query = {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "scope": ",".join(scopes),
            "response_type": "code",
        }
        return f"{self.www_url}/{self.version}/dialog/oauth?{urlencode(query)}"

    def get_access_token(self, code: str) -> dict[str, Any]:
        """Exchange the code, then swap the short-lived token for a long-lived one."""
        short = self._oauth_call(
            {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "redirect_uri": self.redirect_uri,
                "code": code,
            }
        )
        reply = self.request_token_refresh(short["access_token"])
        self._use_reply(reply)
        return reply

    def refresh_grant(self, access_token: str | None, refresh_token: str | None) -> str:
        # Graph has no refresh token: a long-lived token is renewed with itself.
        return access_token or ""

    def request_token_refresh(self, refresh_token: str) -> Mapping[str, Any]:
        """fb_exchange_token: short- or long-lived token → (new) long-lived token."""
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
        return self._oauth_call(
            {
                "grant_type": "fb_exchange_token",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "fb_exchange_token": refresh_token,
            }
        )

    def _oauth_call(self, params: Mapping[str, str]) -> dict[str, Any]:
        reply = self.request(
            "facebook.oauth.access_token",
            "GET",
            self.graph("oauth/access_token"),
            params=params,
            auth=False,
        )
        if not isinstance(reply.get("access_token"), str):
            raise self.data_error("facebook.oauth.access_token", "no access_token")
        return reply

    # --- discovery and profile ------------------------------------------------------

    @property
    def ig_user_id(self) -> str:
        """The Instagram business account id (found through the Pages on first use)."""
        if self._ig_user_id is None:
            self._ig_user_id = self.discover_ig_user_id()
        return self._ig_user_id

    def discover_ig_user_id(self) -> str:
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/getting-started
        body = self.get(
            "graph.me.accounts", "me/accounts", fields="instagram_business_account"
        )
        for page in body.get("data", []):
            account = (
                page.get("instagram_business_account")
                if isinstance(page, dict)
                else None
            )
            if isinstance(account, dict) and isinstance(account.get("id"), str):
                return account["id"]
        raise self.error(
            PlatformAuthError,
            "no Instagram business account is linked to the user's Pages",
            code="no_business_account",
        )

    def get_user_profile(self) -> dict[str, Any]:
        """followers_count, follows_count and media_count of the account."""
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user
        body = self.get("graph.ig_user", self.ig_user_id, fields=PROFILE_FIELDS)
        result = MetricResult(
            platform="instagram", id_key="user_id", item_id=self.ig_user_id
        )
        for field in ("followers_count", "follows_count", "media_count"):
            if body.get(field) is None:
                result.missing(field, f"Instagram did not return {field}")
            else:
                result.put(
                    field, to_int(body[field], field=field), source="graph.ig_user"
                )
        out = result.as_dict()
        out["profile"] = {
            k: body.get(k) for k in ("username", "name", "profile_picture_url")
        }
        return out

    def list_media(
        self, *, limit: int | None = None, page_size: int = 50
    ) -> list[dict]:
        """The account's media, newest first, following cursor paging."""
        media: list[dict] = []
        after: str | None = None
        while limit is None or len(media) < limit:
            params = {"fields": MEDIA_FIELDS, "limit": page_size}
            if after:
                params["after"] = after
            # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
            body = self.get("graph.ig_media", f"{self.ig_user_id}/media", **params)
            page = body.get("data")
            if not isinstance(page, list):
                raise self.data_error("graph.ig_media", "data is not a list")
            media.extend(page)
            paging = body.get("paging") or {}
            after = (
                ((paging.get("cursors") or {}).get("after"))
                if paging.get("next")
                else None
            )
            if not after:
                break
        return media[:limit] if limit is not None else media

    def get_business_discovery(self, username: str) -> dict[str, Any]:
        """Public counts of another business or creator account, by username."""
        fields = (
            f"business_discovery.username({username})"
            "{id,username,followers_count,media_count}"
        )
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/business_discovery
        body = self.get("graph.business_discovery", self.ig_user_id, fields=fields)
        found = body.get("business_discovery")
        if not isinstance(found, dict) or not isinstance(found.get("id"), str):
            raise self.data_error("graph.business_discovery", "no business_discovery")
        result = MetricResult(
            platform="instagram", id_key="user_id", item_id=found["id"]
        )
        for field in ("followers_count", "media_count"):
            if found.get(field) is None:
                result.missing(field, f"Instagram did not return {field}")
            else:
                value = to_int(found[field], field=field)
                result.put(field, value, source="graph.business_discovery")
        return {**result.as_dict(), "username": found.get("username", username)}

    def list_stories(self) -> list[dict]:
        """The account's live stories (they disappear, with insights, after 24 h)."""
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/stories
        body = self.get(
            "graph.ig_stories",
            f"{self.ig_user_id}/stories",
            fields="id,media_type,media_product_type,timestamp",
        )
        stories = body.get("data")
        if not isinstance(stories, list):
            raise self.data_error("graph.ig_stories", "data is not a list")
        return stories

    def get(self, endpoint: str, path: str, **params: Any) -> dict[str, Any]:
        """GET a Graph object or edge with the user token."""
        return self.request(endpoint, "GET", self.graph(path), params=params)

    def transform_metrics(
        self, raw: Mapping[str, Any], *, requested: list[str] | None = None
    ) -> dict[str, Any]:
        """One insights reply (`{"data": [...]}`) of media `raw["id"]` → standard."""
        wanted = requested or list(MEDIA_METRICS)
        items = items_by_name(self, "graph.media.insights", raw)
        return self._result(
            "media_id",
            str(raw.get("id", "")),
            wanted,
            items,
            {},
            "graph.media.insights",
        )

    def fetch_metrics(
        self, *, video_id: str, metrics: Iterable[str] | None = None
    ) -> dict:
        """Body of `collect_metrics`: the media's insights (video_id = media id)."""
        return self.get_media_insights(video_id, metrics=metrics)

    # --- hooks and validation ------------------------------------------------

    def observe_response(self, endpoint: str, response: httpx.Response) -> None:
        """Store Graph's usage headers; slow down before Graph throttles.

        `X-App-Usage` counts the whole app, so above the threshold it pauses
        the app-wide bucket every Instagram request of this app takes a slot
        from (every account and endpoint waits). `X-Business-Use-Case-Usage`
        counts one business account: it pauses only that account's buckets
        for the endpoint, and other accounts go on.
        """
        usage = read_usage(response.headers)
        if not usage.headers:
            return
        self.reported_usage_percent = usage.percent
        app_specs = self.app_bucket_specs()
        per_account = {name for name, own in ENDPOINT_CLASSES.get(endpoint, ()) if own}
        account_specs = [
            spec
            for spec in self.bucket_specs(endpoint)
            if spec.endpoint_class in per_account
        ]
        if "x-app-usage" in usage.headers and app_specs:
            self.limiter.record_usage(app_specs, usage.headers, usage.app_percent)
        if account_specs:
            self.limiter.record_usage(
                account_specs, usage.headers, usage.account_percent
            )
            if usage.regain_minutes > 0:
                self.limiter.block(
                    account_specs,
                    time.time() + usage.regain_minutes * 60,
                    "Graph: estimated_time_to_regain_access",
                )

    def app_bucket_specs(self) -> list[BucketSpec]:
        """The app-wide bucket (one per Facebook app) that X-App-Usage pauses."""
        return [
            spec
            for spec in self.bucket_specs("graph.ig_user")
            if spec.endpoint_class == APP_USAGE_CLASS
        ]

    def on_error(self, error: PlatformError) -> None:
        if error.code == 190 and self.account is not None:
            mark_reconnect_needed(
                self.account, f"Instagram token invalid (code 190/{error.subcode})"
            )

    def validate_response(self, response: httpx.Response, *, endpoint: str) -> Any:
        return check_reply(self, response, endpoint)
