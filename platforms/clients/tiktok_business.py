"""TikTok API for Business ("Accounts"): organic insights of business accounts.

Retention curves, average watch time and audience countries exist only
here, and only for business accounts. Replies use the envelope
`{"code": 0, "message": "OK", "request_id": "...", "data": {...}}` and
report errors with HTTP 200 and a non-zero `code`; the token goes in an
`Access-Token` header, not `Authorization`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from platforms.exceptions import (
    PlatformAPIError,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimitError,
)
from platforms.metrics import to_float, to_int

if TYPE_CHECKING:
    from platforms.clients.tiktok import TikTokClient

ENDPOINT = "tiktok.business.video.list"
#: Standard name → Business API video field.
BUSINESS_METRICS = {
    "reach": "reach",
    "average_watch_time": "average_time_watched",
    "total_watch_time": "total_time_watched",
    "full_video_watched_rate": "full_video_watched_rate",
    "video_retention": "video_view_retention",
    "audience_demographics": "audience_countries",
    "impression_sources": "impression_sources",
}
#: How far back to page for one video (20 per page: the latest 200 videos).
MAX_PAGES = 10
# code → (error kind, permanent). 40001 is "not a business account".
_CODES: dict[int, tuple[type[PlatformError], bool]] = {
    40001: (PlatformAuthError, True),
    40002: (PlatformAPIError, True),
    40100: (PlatformRateLimitError, False),
    40104: (PlatformAuthError, True),
    40105: (PlatformAuthError, True),
}


def validate_business_reply(
    client: TikTokClient, response: httpx.Response, endpoint: str
) -> dict[str, Any]:
    """The `data` object of a Business API reply, or the error it reports."""
    body = client.parse_json(response, endpoint=endpoint)
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        raise client.data_error(endpoint, "reply without an integer code")
    if body["code"] == 0 and response.status_code < 400:
        data = body.get("data")
        if not isinstance(data, dict):
            raise client.data_error(endpoint, "reply without a data object")
        return data
    kind, permanent = _CODES.get(
        body["code"], (PlatformAPIError, response.status_code < 500)
    )
    raise client.error(
        kind,
        f"{endpoint}: {body.get('message') or body['code']}",
        status=response.status_code,
        code=body["code"],
        request_id=str(body.get("request_id", "")),
        permanent=permanent,
    )


def business_video(client: TikTokClient, video_id: str) -> dict[str, Any] | None:
    """The Business API record of one of the latest videos, or None."""
    fields = ["item_id", *BUSINESS_METRICS.values()]
    cursor = 0
    for _ in range(MAX_PAGES):
        # Reference: https://business-api.tiktok.com/portal/docs?id=1765453254046721
        data = client.request(
            ENDPOINT,
            "GET",
            f"{client.business_url}/open_api/v1.3/business/video/list/",
            params={
                "business_id": client.business_id,
                "fields": json.dumps(fields),
                "cursor": cursor,
                "max_count": 20,
            },
            headers={"Access-Token": client.authenticate()},
            auth=False,
            validate=lambda response, endpoint: validate_business_reply(
                client, response, endpoint
            ),
        )
        videos = data.get("videos")
        if not isinstance(videos, list):
            raise client.data_error(ENDPOINT, "data.videos is not a list")
        for video in videos:
            if isinstance(video, dict) and video.get("item_id") == video_id:
                return video
        if not data.get("has_more"):
            return None
        cursor = to_int(data.get("cursor"), field="cursor")
    return None


def add_business_metrics(
    client: TikTokClient, result: dict[str, Any], wanted: list[str]
) -> None:
    """Fill business-only metrics of `result` in place, or say why not."""
    names = [name for name in wanted if name in BUSINESS_METRICS]
    if not names:
        return
    try:
        video = business_video(client, result["video_id"])
    except PlatformAuthError as error:
        reason = (
            "Needs a TikTok business account connected to the API for Business "
            f"({error.message})"
        )
        _missing(result, names, reason)
        return
    if video is None:
        _missing(
            result,
            names,
            f"not among the latest {MAX_PAGES * 20} videos the API for Business lists",
        )
        return
    for name in names:
        value = video.get(BUSINESS_METRICS[name])
        if value is None:
            _missing(result, [name], "the API for Business did not return it")
        elif isinstance(value, list):
            result["metrics"][name] = value
        elif name in ("reach",):
            result["metrics"][name] = to_int(value, field=name)
        else:
            result["metrics"][name] = to_float(value, field=name)
        if value is not None:
            result["unavailable"].pop(name, None)
            result["sources"][name] = ENDPOINT


def _missing(result: dict[str, Any], names: list[str], reason: str) -> None:
    for name in names:
        result["metrics"][name] = None
        result["unavailable"][name] = reason
