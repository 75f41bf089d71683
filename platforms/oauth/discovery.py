"""Which platform accounts a completed OAuth flow gives access to.

TikTok needs no extra call: the user info allauth fetched names the account.
A Google login may own a YouTube channel (or not); a Facebook login reaches
Instagram professional accounts only through the Pages it manages.

The YouTube lookup goes through `platforms.clients.youtube`, so it is charged
to the quota ledger like every Data API call. The Graph lookups are small
httpx calls, one function each, that the Instagram client can take over.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from platforms.clients.youtube import YouTubeClient
from platforms.exceptions import PlatformAuthError, PlatformError, PlatformQuotaError
from platforms.models import ConnectedAccount
from platforms.oauth.facebook.views import graph_url
from platforms.oauth.grant import OAuthGrant
from platforms.oauth.replies import json_object

# Guards against a platform that keeps handing out "next" pages.
MAX_PAGES = 20
_NOT_GRANTED = (
    "{what}: the permission was not granted. Connect again and allow every "
    "permission asked for."
)


class ConnectError(Exception):
    """A connect that cannot complete; `message` is shown to the creator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DiscoveredAccount:
    """What the platform says about one account the grant reaches."""

    platform_user_id: str
    handle: str = ""
    display_name: str = ""
    avatar_url: str = ""
    account_type: str = ConnectedAccount.AccountType.UNKNOWN
    union_id: str = ""
    page_id: str = ""


def tiktok_account(user: dict[str, Any]) -> DiscoveredAccount:
    """The TikTok account from the /v2/user/info/ `data.user` object."""
    return DiscoveredAccount(
        platform_user_id=str(user["open_id"]),
        union_id=str(user.get("union_id") or ""),
        handle=_handle(user.get("username")),
        display_name=str(user.get("display_name") or ""),
        avatar_url=str(user.get("avatar_url") or ""),
        # Login Kit does not say whether the account is personal or business.
        account_type=ConnectedAccount.AccountType.UNKNOWN,
    )


def youtube_channels(
    grant: OAuthGrant, *, client: YouTubeClient | None = None
) -> list[DiscoveredAccount]:
    """The channels of the Google account that granted `grant`.

    Goes through the YouTube client, so the call is charged to the quota
    ledger and rate limits like every other Data API call.
    """
    youtube = client or YouTubeClient(access_token=grant.access_token)
    try:
        # Reference: https://developers.google.com/youtube/v3/docs/channels/list
        body = youtube.data_get(
            "channels", {"part": "snippet,contentDetails,statistics", "mine": "true"}
        )
    except PlatformQuotaError as exc:
        raise ConnectError(
            "YouTube's daily API quota for this site is used up. Connect again "
            "after midnight Pacific time, when it resets."
        ) from exc
    except PlatformAuthError as exc:
        raise ConnectError(
            _NOT_GRANTED.format(what="YouTube did not list your channel")
        ) from exc
    except PlatformError as exc:
        raise ConnectError(
            f"YouTube did not list your channel ({_describe(exc)}). Please try again."
        ) from exc
    finally:
        if client is None:
            youtube.close()
    channels = [
        DiscoveredAccount(
            platform_user_id=str(item["id"]),
            handle=_handle(item.get("snippet", {}).get("customUrl")),
            display_name=str(item.get("snippet", {}).get("title") or ""),
            avatar_url=_youtube_thumbnail(item.get("snippet", {})),
        )
        for item in body.get("items") or []
        if isinstance(item, dict) and item.get("id")
    ]
    if not channels:
        raise ConnectError(
            "This Google account has no YouTube channel. Create the channel on "
            "YouTube, or pick the Google account that owns it, then connect again."
        )
    return channels


def instagram_long_lived_grant(
    grant: OAuthGrant,
    *,
    client_id: str,
    client_secret: str,
    client: httpx.Client | None = None,
) -> OAuthGrant:
    """Exchange the short-lived Facebook user token for a ~60-day one."""
    with _client(client) as http:
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
        body = _get(
            http,
            graph_url("/oauth/access_token"),
            params={
                "grant_type": "fb_exchange_token",
                "client_id": client_id,
                "client_secret": client_secret,
                "fb_exchange_token": grant.access_token,
            },
            what="Facebook did not extend the login",
        )
    if not body.get("access_token"):
        raise ConnectError("Facebook did not extend the login. Please try again.")
    return grant.exchanged(body)


def instagram_accounts(
    grant: OAuthGrant, *, app_secret: str, client: httpx.Client | None = None
) -> list[DiscoveredAccount]:
    """The Instagram professional accounts linked to the creator's Pages."""
    accounts: dict[str, DiscoveredAccount] = {}
    auth = _graph_auth(grant, app_secret)
    with _client(client) as http:
        for page in _pages(http, auth):
            ig = page.get("instagram_business_account")
            if not isinstance(ig, dict) or not ig.get("id"):
                continue  # a Page without a linked Instagram account
            ig_id = str(ig["id"])
            if ig_id not in accounts:
                accounts[ig_id] = _instagram_user(
                    http, auth, ig_id=ig_id, page_id=str(page.get("id") or "")
                )
    if not accounts:
        raise ConnectError(
            "None of the Facebook Pages you shared has an Instagram professional "
            "account linked. Link your Instagram business or creator account to "
            "a Page, then connect again and select that Page."
        )
    return list(accounts.values())


def _instagram_user(
    http: httpx.Client, auth: dict[str, str], *, ig_id: str, page_id: str
) -> DiscoveredAccount:
    # A separate call rather than field expansion on /me/accounts
    # (instagram_business_account{username,...}): one request per account,
    # and it works the same against the sandbox.
    # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user
    body = _get(
        http,
        graph_url(f"/{ig_id}"),
        params={"fields": "id,username,name,profile_picture_url", **auth},
        what="Instagram did not describe your account",
    )
    return DiscoveredAccount(
        platform_user_id=ig_id,
        page_id=page_id,
        handle=_handle(body.get("username")),
        display_name=str(body.get("name") or ""),
        avatar_url=str(body.get("profile_picture_url") or ""),
        # The Page edge only exists for professional (business or creator)
        # accounts; Graph does not say which of the two.
        account_type=ConnectedAccount.AccountType.BUSINESS,
    )


def _graph_auth(grant: OAuthGrant, app_secret: str) -> dict[str, str]:
    """Token parameters for Graph, with the proof apps may be required to send."""
    # Reference: https://developers.facebook.com/docs/graph-api/securing-requests
    proof = hmac.new(
        app_secret.encode(), grant.access_token.encode(), hashlib.sha256
    ).hexdigest()
    return {"access_token": grant.access_token, "appsecret_proof": proof}


def _pages(http: httpx.Client, auth: dict[str, str]) -> Iterator[dict[str, Any]]:
    url: str | None = graph_url("/me/accounts")
    params: dict[str, str] | None = {
        "fields": "id,name,instagram_business_account",
        **auth,
    }
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        if url is None or url in seen:
            return
        seen.add(url)
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/get-started
        body = _get(http, url, params=params, what="Facebook did not list your Pages")
        yield from (page for page in body.get("data") or [] if isinstance(page, dict))
        # `paging.next` is absolute and already carries every parameter.
        url, params = (body.get("paging") or {}).get("next"), None


def _get(
    http: httpx.Client,
    url: str,
    *,
    params: dict[str, str] | None,
    what: str,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    try:
        response = http.get(url, params=params, headers=headers)
    except httpx.HTTPError as exc:
        raise ConnectError(f"{what}: the platform could not be reached.") from exc
    body = json_object(response)
    if response.status_code in (401, 403):
        raise ConnectError(_NOT_GRANTED.format(what=what))
    if response.status_code != 200 or not body:
        raise ConnectError(f"{what} (HTTP {response.status_code}). Please try again.")
    return body


@contextmanager
def _client(client: httpx.Client | None) -> Iterator[httpx.Client]:
    """The caller's client (left open), or a short-lived one of our own."""
    if client is not None:
        yield client
        return
    with httpx.Client(timeout=settings.HTTP_TIMEOUT_SECONDS) as owned:
        yield owned


def _describe(error: PlatformError) -> str:
    return f"HTTP {error.status}" if error.status else "no answer"


def _handle(value: Any) -> str:
    text = str(value or "").strip().lstrip("@")
    return f"@{text}" if text else ""


def _youtube_thumbnail(snippet: dict[str, Any]) -> str:
    thumbnails = snippet.get("thumbnails") or {}
    for size in ("medium", "default", "high"):
        url = (thumbnails.get(size) or {}).get("url")
        if url:
            return str(url)
    return ""
