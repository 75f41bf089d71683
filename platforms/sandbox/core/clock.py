"""The sandbox clock: real time by default, frozen, offset or advanced on demand.

Token expiry, quota resets, story expiry and metric growth all read this clock,
so a test can jump a day ahead without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


def parse_instant(value: str | float | int | datetime) -> float:
    """Return epoch seconds for an ISO-8601 string, a datetime or a number."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class Clock:
    """A thread-safe clock that can run (at any speed), stand still or jump.

    Running, sandbox time is `base + (real now - real base) * speed`; every
    change re-anchors the base, so speed, jumps and freezes compose.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._real_base = time.time()
        self._base = self._real_base
        self._speed = 1.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        """Return the sandbox time as epoch seconds."""
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return self._base + (time.time() - self._real_base) * self._speed

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def speed(self) -> float:
        return self._speed

    def _anchor(self, at: float) -> None:
        self._base, self._real_base = at, time.time()

    def freeze(self, at: str | float | datetime | None = None) -> float:
        """Stop the clock, at `at` if given, else at the current sandbox time."""
        with self._lock:
            self._frozen_at = self.now() if at is None else parse_instant(at)
            return self._frozen_at

    def unfreeze(self) -> float:
        """Let the clock run again from where it stands."""
        with self._lock:
            if self._frozen_at is not None:
                self._anchor(self._frozen_at)
                self._frozen_at = None
            return self.now()

    def set_speed(self, speed: float) -> float:
        """Run `speed` sandbox seconds per real second (demo: 60 = 1 h/min)."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        with self._lock:
            if self._frozen_at is None:
                self._anchor(self.now())
            self._speed = float(speed)
            return self.now()

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, with a negative number)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._anchor(self.now() + seconds)
            return self.now()

    def set(self, at: str | float | datetime) -> float:
        """Jump to `at`, keeping the clock frozen or running as it was."""
        target = parse_instant(at)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._anchor(target)
            return target

    def set_offset(self, seconds: float) -> float:
        """Stand `seconds` away from real time (negative: in the past)."""
        return self.set(time.time() + seconds)

    def reset(self) -> None:
        with self._lock:
            self._anchor(time.time())
            self._speed = 1.0
            self._frozen_at = None

    def state(self) -> dict[str, object]:
        return {
            "now": self.now_datetime().isoformat(),
            "epoch": self.now(),
            "frozen": self.frozen,
            "speed": self._speed,
        }
