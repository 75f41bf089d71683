"""One place that builds HTTP sessions, and the retry loop every call goes through.

Layers (STYLE.md section 3): platform client → `request_with_retries` → httpx.
The retry loop knows nothing about platforms: a client hands it one
*attempt* (take the rate limit, charge quota, send, log, classify) and the
loop decides from the raised `PlatformError` whether another try can help.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import httpx
from django.conf import settings

from platforms.exceptions import PlatformDataError, PlatformError

T = TypeVar("T")

USER_AGENT = "socialmetrics/0.1 (+https://github.com/socialmetrics)"


def build_client(
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """Return the pooled, keep-alive httpx client one platform client uses.

    One client per platform serves all of that platform's hosts (TikTok has
    three, Google four), so the pool is keyed by host inside httpx. gzip is
    negotiated by httpx by default (`Accept-Encoding: gzip, deflate`).
    """
    seconds = timeout if timeout is not None else settings.HTTP_TIMEOUT_SECONDS
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(seconds, connect=min(seconds, 10.0)),
        limits=httpx.Limits(
            max_connections=20, max_keepalive_connections=10, keepalive_expiry=30.0
        ),
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        follow_redirects=False,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or HTTP-date.

    Returns None when the header is absent or unreadable; never negative.
    Reference: https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter and a cap.

    Delay before try n+1 is uniform in [0, min(cap, base * 2**n)] (the "full
    jitter" of https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/),
    but never shorter than the platform's own `Retry-After`. A wait longer
    than `max_inline_wait` is not slept in a worker: the error is raised so
    the job is re-queued for later.
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 5.0
    max_inline_wait: float = 5.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay after the `attempt`-th failed try (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return (rng or random).uniform(0.0, ceiling)


def is_transient(error: PlatformError) -> bool:
    """Whether another try of the same request may succeed.

    Transient: 5xx, timeouts and connection errors (no status), short-term
    throttling, and bodies cut off in transit. Everything the platform
    marks as permanent (quota spent, permissions, invalid parameters,
    comments disabled, retired metrics) is never retried.
    """
    if error.permanent:
        return False
    if isinstance(error, PlatformDataError):
        return bool(error.context.get("transient"))
    return (
        error.status is None
        or error.status >= 500
        or error.status == 429
        or (error.error_class == "rate_limit")
    )


def request_with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run `attempt` until it succeeds, fails permanently or tries run out.

    `attempt` performs one full request and raises `PlatformError` on
    failure. Each try counts against rate limits and quota again, because the
    platform counts it too.
    """
    policy = policy or RetryPolicy()
    for number in range(policy.max_attempts):
        try:
            return attempt()
        except PlatformError as error:
            last_try = number == policy.max_attempts - 1
            if last_try or not is_transient(error):
                raise
            delay = max(error.retry_after or 0.0, policy.backoff(number, rng))
            if delay > policy.max_inline_wait:
                raise
            sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def error_from_transport(
    exc: httpx.HTTPError, factory: type[PlatformError], *, endpoint: str
) -> PlatformError:
    """Turn a timeout or connection failure into a transient platform error."""
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection"
    return factory(
        f"{kind} error talking to {endpoint}: {type(exc).__name__}",
        reason=kind,
        permanent=False,
        endpoint=endpoint,
    )


def now_utc() -> datetime:
    return datetime.now(UTC)
