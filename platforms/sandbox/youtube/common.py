"""Google error bodies, scopes and small helpers shared by the Google service."""

from __future__ import annotations

from typing import Any

from ..core.http import Response, json_response

YT = "https://www.googleapis.com/auth/"

KNOWN_SCOPES = {
    "openid",
    "email",
    "profile",
    YT + "userinfo.email",
    YT + "userinfo.profile",
    YT + "youtube",
    YT + "youtube.readonly",
    YT + "yt-analytics.readonly",
    YT + "yt-analytics-monetary.readonly",
}

DATA_SCOPES = {YT + "youtube", YT + "youtube.readonly", YT + "youtube.force-ssl"}

VIDEO_ID_MESSAGE = (
    'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list'
    '#videoId">videoId</a></code> parameter {}.'
)

QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


def google_error(
    status: int,
    message: str,
    reason: str,
    domain: str = "global",
    state: str | None = None,
    **extra: str,
) -> Response:
    error: dict[str, Any] = {"message": message, "domain": domain, "reason": reason}
    error.update(extra)
    body: dict[str, Any] = {"code": status, "message": message, "errors": [error]}
    if state:
        body["status"] = state
    return json_response(
        {"error": body},
        status,
        throttled=reason
        in {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded"},
    )


def unauthenticated() -> Response:
    return google_error(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential.",
        "authError",
        state="UNAUTHENTICATED",
        location="Authorization",
        locationType="header",
    )


def insufficient_scopes() -> Response:
    return google_error(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        state="PERMISSION_DENIED",
    )


def missing_parameter(name: str) -> Response:
    return google_error(
        400,
        f"Required parameter: {name}",
        "missingRequiredParameter",
        domain="youtube.parameter",
        location=name,
        locationType="parameter",
    )
