"""The request log: counts and recent requests per endpoint and token.

Tokens are kept only as fingerprints (see tokens.fingerprint), never whole.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

from .tokens import fingerprint


@dataclass
class LoggedRequest:
    at: float
    platform: str
    endpoint: str
    method: str
    path: str
    status: int
    token: str | None
    throttled: bool
    fault: str | None


class RequestLog:
    """Thread-safe log with full counts and a bounded list of recent entries."""

    def __init__(self, size: int = 500) -> None:
        self._recent: deque[LoggedRequest] = deque(maxlen=size)
        # Aggregated, so a long benchmark does not grow memory per request.
        self._all: Counter[tuple[str, str, str | None, int, bool]] = Counter()
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._recent.append(entry)
            key = (
                entry.platform,
                entry.endpoint,
                entry.token,
                entry.status,
                entry.throttled,
            )
            self._all[key] += 1

    def _select(
        self,
        platform: str | None = None,
        endpoint: str | None = None,
        token: str | None = None,
        status: int | None = None,
    ) -> list[tuple[tuple[str, str, str | None, int, bool], int]]:
        label = fingerprint(token) if token else None
        with self._lock:
            rows = list(self._all.items())
        return [
            (row, n)
            for row, n in rows
            if (platform is None or row[0] == platform)
            and (endpoint is None or row[1] == endpoint)
            and (label is None or row[2] == label)
            and (status is None or row[3] == status)
        ]

    def count(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        platform: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many requests matched (token: the full token, hashed here)."""
        return sum(n for _, n in self._select(platform, endpoint, token, status))

    def throttled_count(self, **filters: Any) -> int:
        return sum(n for row, n in self._select(**filters) if row[4])

    def counts(self, **filters: Any) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for row, n in self._select(**filters):
            totals[row[1]] += n
        return dict(totals)

    def recent(
        self,
        platform: str | None = None,
        endpoint: str | None = None,
        token: str | None = None,
        status: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        label = fingerprint(token) if token else None
        with self._lock:
            entries = list(self._recent)
        chosen = [
            asdict(e)
            for e in entries
            if (platform is None or e.platform == platform)
            and (endpoint is None or e.endpoint == endpoint)
            and (label is None or e.token == label)
            and (status is None or e.status == status)
        ]
        return chosen[-limit:]

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self._all.clear()
