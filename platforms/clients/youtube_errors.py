"""Validation of Google replies: Data/Analytics API errors and OAuth errors.

403s mean different things: a spent quota, a short-term rate limit, a
missing permission, or comments disabled on one video; the `reason` of the
first error decides, and only the short-term ones are retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from platforms.exceptions import (
    PlatformAPIError,
    PlatformAuthError,
    PlatformError,
    PlatformQuotaError,
    PlatformRateLimitError,
)
from platforms.http import parse_retry_after

if TYPE_CHECKING:
    from platforms.clients.youtube import YouTubeClient

# reason → (error kind, permanent). Reference: PLATFORM_APIS.md 2.5.
_REASONS: dict[str, tuple[type[PlatformError], bool]] = {
    "quotaExceeded": (PlatformQuotaError, True),
    "rateLimitExceeded": (PlatformRateLimitError, False),
    "userRateLimitExceeded": (PlatformRateLimitError, False),
    "forbidden": (PlatformAuthError, True),
    "insufficientPermissions": (PlatformAuthError, True),
    "commentsDisabled": (PlatformAPIError, True),
    "keyInvalid": (PlatformAPIError, True),
    "invalidPageToken": (PlatformAPIError, True),
    "missingRequiredParameter": (PlatformAPIError, True),
    "authError": (PlatformAuthError, False),
}


def check_reply(client: YouTubeClient, response: httpx.Response, endpoint: str) -> Any:
    """The reply body, or the error it reports, classified by `reason`."""
    status = response.status_code
    if status >= 500 and not response.content.strip().startswith(b"{"):
        raise client.error(
            PlatformAPIError,
            f"{endpoint}: HTTP {status}",
            status=status,
            permanent=False,
        )
    body = client.parse_json(response, endpoint=endpoint)
    if not isinstance(body, dict):
        raise client.data_error(endpoint, "reply is not a JSON object")
    error = body.get("error")
    if error is None and status < 400:
        return body
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if isinstance(error, str):  # OAuth: {"error": "invalid_grant", ...}
        raise client.error(
            PlatformAuthError
            if error in ("invalid_grant", "invalid_client", "unauthorized_client")
            else PlatformAPIError,
            f"{endpoint}: {body.get('error_description') or error}",
            status=status,
            code=error,
            permanent=True,
        )
    if not isinstance(error, dict):
        raise client.data_error(endpoint, f"HTTP {status} without an error object")
    details = error.get("errors") or [{}]
    reason = str((details[0] if isinstance(details[0], dict) else {}).get("reason", ""))
    kind, permanent = _REASONS.get(reason, (PlatformAPIError, status < 500))
    if status == 401 and reason not in _REASONS:
        kind, permanent = PlatformAuthError, False  # expired: refresh once
    elif error.get("status") == "PERMISSION_DENIED" and reason not in _REASONS:
        kind, permanent = PlatformAuthError, True
    if status == 429:
        kind, permanent = PlatformRateLimitError, False
    raise client.error(
        kind,
        f"{endpoint}: {error.get('message') or reason or status}",
        status=status,
        code=error.get("code", status),
        reason=reason or str(error.get("status", "")),
        retry_after=retry_after,
        permanent=permanent,
    )
