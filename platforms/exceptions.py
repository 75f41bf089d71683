"""Errors raised by the platform clients.

Every error carries what the platform said about it, so callers can decide
without parsing messages: the HTTP `status`, the platform's `code`, `reason`
and `subcode`, the `request_id` (TikTok `log_id`, Graph `fbtrace_id`,
Business API `request_id`), `retry_after` in seconds when the platform or the
limiter knows it, and `permanent` (retrying the same request cannot help).
A call over many ids that stops part-way (a Graph batch refused by the
limiter) also says how far it got: `completed` maps each id already done to
its result, and `pending` lists the ids not yet asked, in order. `logged` is
True once an ErrorLog row records the error (the client's request pipeline
sets it), so a caller writes a row only for errors that have none.

The tree::

    PlatformError
    ├── PlatformAuthError             token missing, expired, revoked
    │   ├── TikTokAuthError
    │   ├── YouTubeAuthError
    │   └── InstagramAuthError
    ├── PlatformRateLimitError        throttled now; retry after `retry_after`
    │   ├── TikTokRateLimitError
    │   ├── YouTubeRateLimitError
    │   └── InstagramRateLimitError
    ├── PlatformQuotaError            a daily quota is spent
    │   └── YouTubeQuotaExceeded
    ├── PlatformAPIError              any other error reply
    │   ├── TikTokAPIError
    │   ├── YouTubeAPIError
    │   └── InstagramAPIError
    └── PlatformDataError             a reply that does not parse or validate
        ├── TikTokDataError
        ├── YouTubeDataError
        └── InstagramDataError
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PlatformError",
    "PlatformAuthError",
    "PlatformRateLimitError",
    "PlatformQuotaError",
    "PlatformAPIError",
    "PlatformDataError",
    "TikTokAuthError",
    "TikTokRateLimitError",
    "TikTokAPIError",
    "TikTokDataError",
    "YouTubeAuthError",
    "YouTubeRateLimitError",
    "YouTubeQuotaExceeded",
    "YouTubeAPIError",
    "YouTubeDataError",
    "InstagramAuthError",
    "InstagramRateLimitError",
    "InstagramAPIError",
    "InstagramDataError",
    "error_class_for",
]


class PlatformError(Exception):
    """Base class: something went wrong talking to a platform."""

    #: ErrorLog.error_class value for this kind of error.
    error_class = "api"
    #: Whether retrying the same request can never succeed (class default).
    default_permanent = False
    platform = ""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        reason: str = "",
        subcode: str | int | None = None,
        request_id: str = "",
        retry_after: float | None = None,
        permanent: bool | None = None,
        endpoint: str = "",
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.reason = reason
        self.subcode = subcode
        self.request_id = request_id
        self.retry_after = retry_after
        self.permanent = self.default_permanent if permanent is None else permanent
        self.endpoint = endpoint
        self.context = context or {}
        #: For calls over many ids: results of the ids done before the error.
        self.completed: dict[str, Any] = {}
        #: For calls over many ids: the ids not yet asked, to resume with.
        self.pending: list[str] = []
        #: True once an ErrorLog row records this error.
        self.logged = False

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code not in (None, ""):
            parts.append(f"error_code={self.code}")
        if self.reason:
            parts.append(f"reason={self.reason}")
        if self.subcode not in (None, ""):
            parts.append(f"error_subcode={self.subcode}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after:.1f}s")
        return " ".join(parts)


class PlatformAuthError(PlatformError):
    """The token is missing, expired or revoked, or a scope is missing."""

    error_class = "auth"
    default_permanent = True


class PlatformRateLimitError(PlatformError):
    """Throttled, by the platform or by the shared limiter: retry later."""

    error_class = "rate_limit"


class PlatformQuotaError(PlatformError):
    """A daily quota is spent; nothing is sent until it resets."""

    error_class = "quota"
    default_permanent = True


class PlatformAPIError(PlatformError):
    """Any other error reply (invalid parameters, server errors, ...)."""

    error_class = "api"


class PlatformDataError(PlatformError):
    """A reply that is not valid JSON or does not have the documented shape."""

    error_class = "data"


class TikTokAuthError(PlatformAuthError):
    platform = "tiktok"


class TikTokRateLimitError(PlatformRateLimitError):
    platform = "tiktok"


class TikTokAPIError(PlatformAPIError):
    platform = "tiktok"


class TikTokDataError(PlatformDataError):
    platform = "tiktok"


class YouTubeAuthError(PlatformAuthError):
    platform = "youtube"


class YouTubeRateLimitError(PlatformRateLimitError):
    platform = "youtube"


class YouTubeQuotaExceeded(PlatformQuotaError):
    platform = "youtube"


class YouTubeAPIError(PlatformAPIError):
    platform = "youtube"


class YouTubeDataError(PlatformDataError):
    platform = "youtube"


class InstagramAuthError(PlatformAuthError):
    platform = "instagram"


class InstagramRateLimitError(PlatformRateLimitError):
    platform = "instagram"


class InstagramAPIError(PlatformAPIError):
    platform = "instagram"


class InstagramDataError(PlatformDataError):
    platform = "instagram"


_BY_PLATFORM: dict[str, dict[type[PlatformError], type[PlatformError]]] = {
    "tiktok": {
        PlatformAuthError: TikTokAuthError,
        PlatformRateLimitError: TikTokRateLimitError,
        PlatformAPIError: TikTokAPIError,
        PlatformDataError: TikTokDataError,
    },
    "youtube": {
        PlatformAuthError: YouTubeAuthError,
        PlatformRateLimitError: YouTubeRateLimitError,
        PlatformQuotaError: YouTubeQuotaExceeded,
        PlatformAPIError: YouTubeAPIError,
        PlatformDataError: YouTubeDataError,
    },
    "instagram": {
        PlatformAuthError: InstagramAuthError,
        PlatformRateLimitError: InstagramRateLimitError,
        PlatformAPIError: InstagramAPIError,
        PlatformDataError: InstagramDataError,
    },
}


def error_class_for(platform: str, kind: type[PlatformError]) -> type[PlatformError]:
    """Return the platform's own subclass of `kind`, or `kind` itself."""
    return _BY_PLATFORM.get(platform, {}).get(kind, kind)
