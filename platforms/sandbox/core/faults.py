"""Fault injection per platform and endpoint, deterministic under the seed.

A rule fires for the n-th matching request when unit(seed, rule, n) < rate,
so the same sequence of requests meets the same faults on every run.

Paging faults (`repeat_cursor`, `empty_page`) are not decided per request:
the listing handlers ask for them (`paging`) only for a page that continues
a listing, since a first page has no cursor to repeat.
"""

from __future__ import annotations

import itertools
import math
import statistics
import threading
from dataclasses import dataclass, field
from typing import Any

from .world import unit

KINDS = {
    "status_500",
    "latency",
    "timeout",
    "drop",
    "malformed_json",
    "truncated_json",
    "burst_429",
    "throttle_in_200",
    "revoke_token",
    "refresh_reuse_detection",
    "repeat_cursor",
    "empty_page",
}
TERMINAL = {"status_500", "timeout", "drop", "burst_429", "throttle_in_200"}
BODY = {"malformed_json", "truncated_json"}
# Listing replies that page wrongly: the cursor given comes back as the next
# one, or a page has no items while more are promised.
PAGING = {"repeat_cursor", "empty_page"}


@dataclass
class FaultRule:
    """One fault: where it applies, what it does and how often."""

    kind: str
    platform: str = "*"
    endpoint: str = "*"
    rate: float = 1.0
    # Stop after firing this many times (None: never stop).
    count: int | None = None
    # status_500: the status to send (500, 502, 503...).
    status: int = 500
    # latency: fixed `ms`, uniform between `min_ms` and `max_ms`, or
    # log-normal with median `p50_ms` and 99th percentile `p99_ms`.
    ms: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    min_ms: float = 0.0
    max_ms: float = 0.0
    # burst_429: consecutive throttled replies once a burst starts.
    burst: int = 5
    retry_after: int | None = None
    id: int = 0
    seen: int = 0
    fired: int = 0
    burst_left: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def matches(self, platform: str, endpoint: str) -> bool:
        if self.platform not in {"*", platform}:
            return False
        if self.endpoint in {"*", endpoint}:
            return True
        return self.endpoint.endswith("*") and endpoint.startswith(self.endpoint[:-1])

    def as_dict(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "kind": self.kind,
            "platform": self.platform,
            "endpoint": self.endpoint,
            "rate": self.rate,
            "count": self.count,
            "fired": self.fired,
            "seen": self.seen,
        }
        if self.kind == "status_500":
            data["status"] = self.status
        if self.kind == "latency":
            data.update(
                ms=self.ms,
                min_ms=self.min_ms,
                max_ms=self.max_ms,
                p50_ms=self.p50_ms,
                p99_ms=self.p99_ms,
            )
        if self.kind == "burst_429":
            data["burst"] = self.burst
        return data


@dataclass
class Decision:
    """What the faults do to one request."""

    latency: float = 0.0
    revoke: bool = False
    terminal: FaultRule | None = None
    body: FaultRule | None = None


class FaultInjector:
    """Holds the fault rules and decides, per request, which ones fire."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, kind: str | None = None, **options: Any) -> FaultRule:
        """Add a rule: `faults.add("status_500", platform="youtube", rate=0.5)`."""
        if kind is None:
            kind = options.pop("kind")
        else:
            options.pop("kind", None)
        if kind.startswith("status_") and kind != "status_500":
            options.setdefault("status", int(kind.removeprefix("status_")))
            kind = "status_500"
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(KINDS)}")
        known = set(FaultRule.__dataclass_fields__) - {
            "id",
            "seen",
            "fired",
            "burst_left",
            "extra",
        }
        extra = {k: options.pop(k) for k in list(options) if k not in known}
        rule = FaultRule(kind=kind, extra=extra, **options)
        with self._lock:
            rule.id = next(self._ids)
            self._rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def enabled(self, kind: str, platform: str, endpoint: str) -> bool:
        """True when a switch-like rule (refresh_reuse_detection) applies."""
        return any(
            r.kind == kind and r.matches(platform, endpoint) for r in self._rules
        )

    def decide(self, platform: str, endpoint: str) -> Decision:
        decision = Decision()
        if not self._rules:
            return decision
        with self._lock:
            for rule in self._rules:
                if rule.kind == "refresh_reuse_detection" or rule.kind in PAGING:
                    continue
                if not rule.matches(platform, endpoint):
                    continue
                if rule.kind == "burst_429" and rule.burst_left > 0:
                    rule.burst_left -= 1
                    decision.terminal = decision.terminal or rule
                    continue
                if self._fires(rule):
                    self._apply(rule, decision)
        return decision

    def paging(self, platform: str, endpoint: str) -> str | None:
        """The paging fault for a page that continues a listing, if one fires."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if (
                    rule.kind in PAGING
                    and rule.matches(platform, endpoint)
                    and self._fires(rule)
                ):
                    return rule.kind
        return None

    def _fires(self, rule: FaultRule) -> bool:
        """Count one matching request; True when the rule fires for it."""
        if rule.count is not None and rule.fired >= rule.count:
            return False
        rule.seen += 1
        if unit(self.seed, "fault", rule.id, rule.seen) >= rule.rate:
            return False
        rule.fired += 1
        return True

    def _apply(self, rule: FaultRule, decision: Decision) -> None:
        if rule.kind == "latency":
            if rule.ms is not None:
                delay = rule.ms
            elif rule.p50_ms is not None:
                # Log-normal around the median; p99 sets the spread.
                p99 = rule.p99_ms or rule.p50_ms * 4
                sigma = math.log(max(p99, rule.p50_ms) / rule.p50_ms) / 2.326
                spread = unit(self.seed, "latency", rule.id, rule.seen)
                gauss = statistics.NormalDist().inv_cdf(
                    min(max(spread, 1e-9), 1 - 1e-9)
                )
                delay = rule.p50_ms * math.exp(sigma * gauss)
            else:
                spread = unit(self.seed, "latency", rule.id, rule.seen)
                delay = rule.min_ms + (rule.max_ms - rule.min_ms) * spread
            decision.latency += delay / 1000.0
        elif rule.kind == "revoke_token":
            decision.revoke = True
        elif rule.kind in BODY:
            decision.body = decision.body or rule
        elif rule.kind in TERMINAL and decision.terminal is None:
            if rule.kind == "burst_429":
                rule.burst_left = max(rule.burst - 1, 0)
            decision.terminal = rule
