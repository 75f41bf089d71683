"""Validation of Graph replies and Graph's usage headers.

Error codes (PLATFORM_APIS.md 3.9): 1, 2 transient; 4, 17, 32, 613 and
800xx throttling; 190 token invalid (reconnect); 10 and 200-299
permissions; 100 invalid parameter (subcode 2108006: posted before the
account became a business account). Throttling is never retried inline:
Graph counts usage over an hour, so the job waits for
`estimated_time_to_regain_access` or `THROTTLE_PAUSE_SECONDS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from platforms.exceptions import (
    PlatformAPIError,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimitError,
)
from platforms.http import parse_retry_after

if TYPE_CHECKING:
    from platforms.clients.instagram import InstagramClient

THROTTLE_CODES = {4, 17, 32, 613}
#: Default pause when Graph throttles without saying for how long.
THROTTLE_PAUSE_SECONDS = 300.0


def classify_graph_error(code: int | None, subcode: int | None) -> tuple[type, bool]:
    """(error kind, permanent) for a Graph error code. Reference: PLATFORM_APIS 3.9."""
    if code in (1, 2):
        return PlatformAPIError, False
    if code in THROTTLE_CODES or (code is not None and 80000 <= code < 80100):
        return PlatformRateLimitError, False
    if code == 190:
        return PlatformAuthError, True
    if code is not None and 200 <= code <= 299:
        return PlatformAuthError, True
    return PlatformAPIError, True  # 10, 100, 341, 368 and the rest


def check_reply(
    client: InstagramClient, response: httpx.Response, endpoint: str
) -> Any:
    """The reply body, or the Graph error it reports."""
    status = response.status_code
    if status >= 500 and not response.content.strip().startswith(b"{"):
        raise client.error(
            PlatformAPIError,
            f"{endpoint}: HTTP {status}",
            status=status,
            permanent=False,
        )
    body = client.parse_json(response, endpoint=endpoint)
    if isinstance(body, list) and endpoint == "graph.batch":
        return body
    if not isinstance(body, dict):
        raise client.data_error(endpoint, "reply is not a JSON object")
    error = body.get("error")
    if error is None and status < 400:
        return body
    if not isinstance(error, dict):
        raise client.data_error(endpoint, f"HTTP {status} without an error object")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    regain_minutes = read_usage(response.headers).regain_minutes
    if retry_after is None and regain_minutes > 0:
        retry_after = regain_minutes * 60
    raise graph_error(
        client, error, status=status, endpoint=endpoint, retry_after=retry_after
    )


def graph_error(
    client: InstagramClient,
    error: Mapping[str, Any],
    *,
    status: int,
    endpoint: str,
    retry_after: float | None = None,
) -> PlatformError:
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode")
    kind, permanent = classify_graph_error(code, subcode)
    if error.get("is_transient") is True and kind is PlatformAPIError:
        permanent = False
    if kind is PlatformRateLimitError and retry_after is None:
        retry_after = THROTTLE_PAUSE_SECONDS
    return client.error(
        kind,
        f"{endpoint}: {error.get('message') or code}",
        status=status,
        code=code,
        reason=str(error.get("type", "")),
        subcode=subcode,
        request_id=str(error.get("fbtrace_id", "")),
        retry_after=retry_after,
        permanent=permanent,
        endpoint=endpoint,
        context={"error_user_title": error.get("error_user_title", "")},
    )


@dataclass(frozen=True)
class GraphUsage:
    """What Graph's usage headers say, in percent of each limit.

    `app_percent` comes from `X-App-Usage`, which counts the whole app (every
    user and account of it); `account_percent` and `regain_minutes` from
    `X-Business-Use-Case-Usage`, which counts one business account.
    """

    headers: dict[str, Any] = field(default_factory=dict)
    app_percent: float = 0.0
    account_percent: float = 0.0
    regain_minutes: float = 0.0

    @property
    def percent(self) -> float:
        return max(self.app_percent, self.account_percent)


def read_usage(headers: Mapping[str, str]) -> GraphUsage:
    """Parse `X-App-Usage` and `X-Business-Use-Case-Usage` (PLATFORM_APIS 3.8)."""
    usage: dict[str, Any] = {}
    percents = {"x-app-usage": 0.0, "x-business-use-case-usage": 0.0}
    regain_minutes = 0.0
    for header in percents:
        raw = headers.get(header)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        usage[header] = value
        for figures in _usage_entries(value):
            for key in ("call_count", "total_cputime", "total_time"):
                if isinstance(figures.get(key), int | float):
                    percents[header] = max(percents[header], float(figures[key]))
            regain = figures.get("estimated_time_to_regain_access")
            if isinstance(regain, int | float):
                regain_minutes = max(regain_minutes, float(regain))
    return GraphUsage(
        headers=usage,
        app_percent=percents["x-app-usage"],
        account_percent=percents["x-business-use-case-usage"],
        regain_minutes=regain_minutes,
    )


def _usage_entries(value: Any) -> list[dict[str, Any]]:
    """X-App-Usage is one object; X-Business-Use-Case-Usage maps ids to lists."""
    if isinstance(value, dict) and "call_count" in value:
        return [value]
    entries: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for items in value.values():
            if isinstance(items, list):
                entries += [item for item in items if isinstance(item, dict)]
    return entries
