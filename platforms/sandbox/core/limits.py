"""Sliding-window rate limits and the YouTube daily quota ledger."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime
from zoneinfo import ZoneInfo


class SlidingWindow:
    """Counts events per key over the last `window` seconds."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: tuple[str, ...], now: float, window: float, limit: int) -> float:
        """Record one event unless over `limit`; return 0 or seconds to wait."""
        with self._lock:
            events = self._events.setdefault(key, deque())
            cutoff = now - window
            while events and events[0] <= cutoff:
                events.popleft()
            if len(events) >= limit:
                return max(events[0] + window - now, 0.001)
            events.append(now)
            return 0.0

    def count(self, key: tuple[str, ...], now: float, window: float) -> int:
        with self._lock:
            events = self._events.get(key)
            if not events:
                return 0
            cutoff = now - window
            while events and events[0] <= cutoff:
                events.popleft()
            return len(events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


class QuotaLedger:
    """Units spent per (bucket, project) per quota day.

    The day is the calendar day in the quota time zone, so the reset lands on
    local midnight even on the days clocks change (23- and 25-hour days).
    """

    def __init__(self, timezone: str = "America/Los_Angeles") -> None:
        self.zone = ZoneInfo(timezone)
        self._spent: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()

    def day(self, now: float) -> str:
        return datetime.fromtimestamp(now, self.zone).date().isoformat()

    def charge(
        self, bucket: str, project: str, now: float, cost: int, limit: int
    ) -> bool:
        """Spend `cost` units; False (and nothing spent) when the quota is gone."""
        key = (bucket, project, self.day(now))
        with self._lock:
            spent = self._spent.get(key, 0)
            if spent + cost > limit:
                return False
            self._spent[key] = spent + cost
            return True

    def spent(self, bucket: str, project: str, now: float) -> int:
        return self._spent.get((bucket, project, self.day(now)), 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"/".join(key): value for key, value in self._spent.items()}

    def clear(self) -> None:
        with self._lock:
            self._spent.clear()
