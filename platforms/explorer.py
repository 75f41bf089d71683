"""The API explorer: staff send one allowed read request for a connected account.

It goes through the account's normal client, so the shared limiter, the
quota ledger, token refresh, retries and the call and error logs all apply.
The reply is redacted before anyone sees it. Only the read endpoints listed
here can be called; nothing writes to a platform.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from platforms.exceptions import PlatformError
from platforms.logging import redact_data
from platforms.models import ConnectedAccount
from platforms.registry import get_client_class


@dataclass(frozen=True)
class ExplorerEndpoint:
    key: str
    platform: str
    label: str
    call: Callable[[Any], Any]


def _tiktok_user(client: Any) -> Any:
    from platforms.clients.tiktok import USER_FIELDS

    return client.request(
        "tiktok.user.info",
        "GET",
        f"{client.api_url}/v2/user/info/",
        params={"fields": USER_FIELDS},
    )


def _tiktok_videos(client: Any) -> Any:
    from platforms.clients.tiktok import VIDEO_FIELDS

    return client.request(
        "tiktok.video.list",
        "POST",
        f"{client.api_url}/v2/video/list/",
        params={"fields": VIDEO_FIELDS},
        json_body={"max_count": 20},
    )


def _youtube_channel(client: Any) -> Any:
    return client.data_get(
        "channels", {"part": "snippet,statistics,contentDetails", "mine": "true"}
    )


def _youtube_report(client: Any) -> Any:
    today = timezone.now().date()
    return client.report(
        {
            "startDate": (today - dt.timedelta(days=7)).isoformat(),
            "endDate": today.isoformat(),
            "dimensions": "day",
            "metrics": "views,estimatedMinutesWatched,subscribersGained",
        }
    )


def _instagram_profile(client: Any) -> Any:
    from platforms.clients.instagram import PROFILE_FIELDS

    return client.get("graph.ig_user", client.ig_user_id, fields=PROFILE_FIELDS)


def _instagram_media(client: Any) -> Any:
    from platforms.clients.instagram import MEDIA_FIELDS

    return client.get(
        "graph.ig_media", f"{client.ig_user_id}/media", fields=MEDIA_FIELDS, limit=10
    )


ENDPOINTS: dict[str, ExplorerEndpoint] = {
    endpoint.key: endpoint
    for endpoint in (
        ExplorerEndpoint(
            "tiktok.user.info", "tiktok", "GET /v2/user/info/", _tiktok_user
        ),
        ExplorerEndpoint(
            "tiktok.video.list",
            "tiktok",
            "POST /v2/video/list/ (first page)",
            _tiktok_videos,
        ),
        ExplorerEndpoint(
            "youtube.channels",
            "youtube",
            "GET channels?mine=true (1 unit)",
            _youtube_channel,
        ),
        ExplorerEndpoint(
            "youtube.analytics.reports",
            "youtube",
            "GET reports: last 7 days by day",
            _youtube_report,
        ),
        ExplorerEndpoint(
            "graph.ig_user",
            "instagram",
            "GET /{ig-user} profile fields",
            _instagram_profile,
        ),
        ExplorerEndpoint(
            "graph.ig_media",
            "instagram",
            "GET /{ig-user}/media (10 items)",
            _instagram_media,
        ),
    )
}


@dataclass(frozen=True)
class ExplorerResult:
    ok: bool
    body: str  # redacted, pretty JSON
    error: str = ""
    requests: int = 0


def explorer_call(
    *, account: ConnectedAccount, endpoint_key: str, **client_kwargs: Any
) -> ExplorerResult:
    """Send one allowed read request for `account` through its normal client."""
    endpoint = ENDPOINTS.get(endpoint_key)
    if endpoint is None or endpoint.platform != account.platform:
        raise ValueError(
            f"{endpoint_key!r} is not an explorer endpoint of this account"
        )
    client = get_client_class(account.platform)(account=account, **client_kwargs)
    try:
        reply = endpoint.call(client)
    except PlatformError as error:
        context = {
            "error": type(error).__name__,
            "status": error.status,
            "code": error.code,
            "reason": error.reason,
            "subcode": error.subcode,
            "request_id": error.request_id,
            "retry_after": error.retry_after,
        }
        return ExplorerResult(
            ok=False,
            body=json.dumps(redact_data(context), indent=2, default=str),
            error=str(redact_data(str(error))),
            requests=client.request_count,
        )
    finally:
        client.close()
    if isinstance(reply, tuple):  # data_get's (payload, etag) form
        reply = reply[0]
    return ExplorerResult(
        ok=True,
        body=json.dumps(redact_data(reply), indent=2, ensure_ascii=False, default=str),
        requests=client.request_count,
    )
