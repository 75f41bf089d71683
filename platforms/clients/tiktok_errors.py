"""Validation of TikTok replies: the Display API envelope and OAuth errors.

`error.code` is read in every reply: "ok" is the only success, whatever the
HTTP status (TikTok does not document the status of every error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from platforms.exceptions import (
    PlatformAPIError,
    PlatformAuthError,
    PlatformRateLimitError,
)
from platforms.http import parse_retry_after

if TYPE_CHECKING:
    from platforms.clients.tiktok import TikTokClient

_ENVELOPE_ERRORS: dict[str, tuple[type, bool]] = {
    # code → (error kind, permanent)
    "access_token_invalid": (PlatformAuthError, False),  # refresh once
    "scope_not_authorized": (PlatformAuthError, True),
    "scope_permission_missed": (PlatformAuthError, True),
    "rate_limit_exceeded": (PlatformRateLimitError, False),
    "invalid_params": (PlatformAPIError, True),
    "internal_error": (PlatformAPIError, False),
}
_OAUTH_ERRORS: dict[str, type] = {
    "invalid_grant": PlatformAuthError,
    "invalid_client": PlatformAuthError,
    "access_denied": PlatformAuthError,
}


def check_reply(client: TikTokClient, response: httpx.Response, endpoint: str) -> Any:
    """The Display API `data` (or OAuth reply), or the error the envelope reports."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
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
    if endpoint.startswith("tiktok.oauth"):
        return _check_oauth(client, body, status, endpoint)
    error = body.get("error")
    if not isinstance(error, dict) or "code" not in error:
        raise client.data_error(endpoint, "envelope without error.code", status=status)
    code = str(error["code"])
    if code == "ok" and status < 400:
        data = body.get("data")
        if not isinstance(data, dict):
            raise client.data_error(endpoint, "envelope without a data object")
        return data
    kind, permanent = _ENVELOPE_ERRORS.get(code, (PlatformAPIError, status < 500))
    if status == 429:
        kind, permanent = PlatformRateLimitError, False
    raise client.error(
        kind,
        f"{endpoint}: {error.get('message') or code}",
        status=status,
        code=code,
        request_id=str(error.get("log_id", "")),
        retry_after=retry_after,
        permanent=permanent,
    )


def _check_oauth(client: TikTokClient, body: dict, status: int, endpoint: str) -> dict:
    error = body.get("error")
    if isinstance(error, str) and error:
        kind = _OAUTH_ERRORS.get(error, PlatformAPIError)
        raise client.error(
            kind,
            f"{endpoint}: {body.get('error_description') or error}",
            status=status,
            code=error,
            request_id=str(body.get("log_id", "")),
            permanent=True,
        )
    if isinstance(error, dict) and error.get("code") not in (None, "ok"):
        # Some TikTok OAuth replies use the Display API envelope.
        raise client.error(
            PlatformAuthError,
            f"{endpoint}: {error.get('message') or error['code']}",
            status=status,
            code=str(error["code"]),
            request_id=str(error.get("log_id", "")),
            permanent=True,
        )
    if status >= 400:
        raise client.error(
            PlatformAPIError,
            f"{endpoint}: HTTP {status}",
            status=status,
            permanent=status < 500,
        )
    return body
