"""`manage.py sandbox_clock`: move the clock of a running sandbox.

It talks to the sandbox's control endpoint (`POST /_sandbox/clock`), so it
works on whichever sandbox serves `SANDBOX_URL` (or `--url`): the demo's, or
one started by `manage.py sandbox` elsewhere.
"""

from __future__ import annotations

import re
import time
from argparse import SUPPRESS, ArgumentTypeError
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*([smhd]?)$")


def duration(text: str) -> float:
    """Seconds from "3600", "-90", "90m", "6h" or "2d"."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise ArgumentTypeError(
            f"{text!r} is not a duration: use seconds (3600) or 90m, 6h, 2d"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def instant(text: str) -> str:
    """An ISO-8601 instant, checked here so a typo never reaches the sandbox."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ArgumentTypeError(
            f"{text!r} is not an ISO-8601 instant, e.g. 2026-06-15T12:00:00Z"
        ) from None
    return text


def speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ArgumentTypeError(f"{text!r} is not a positive number, e.g. 60")
    return value


class Command(BaseCommand):
    help = (
        "Show or move the clock of a running sandbox: show, freeze [AT], unfreeze, "
        "advance SECONDS, set AT, speed N, offset SECONDS."
    )
    # Like `manage.py sandbox`: needs neither the database nor the checks.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default=None,
            help="the sandbox's base URL (default: the SANDBOX_URL setting)",
        )
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("show", help="print the sandbox time")
        freeze = actions.add_parser("freeze", help="stop the clock (at AT if given)")
        freeze.add_argument("at", nargs="?", type=instant)
        actions.add_parser("unfreeze", help="let the clock run again")
        advance = actions.add_parser(
            "advance", help="move forward (negative: back), e.g. 3600, 90m, 2d"
        )
        advance.add_argument("seconds", type=duration)
        offset = actions.add_parser(
            "offset", help="stand SECONDS from real time, e.g. 86400 or -2d"
        )
        offset.add_argument("seconds", type=duration)
        set_ = actions.add_parser("set", help="jump to an ISO-8601 instant")
        set_.add_argument("at", type=instant)
        speed_ = actions.add_parser(
            "speed", help="sandbox seconds per real second (60: an hour a minute)"
        )
        speed_.add_argument("speed", type=speed)
        for sub in actions.choices.values():
            # `sandbox_clock advance 60 --url …` works as well as before the action.
            sub.add_argument("--url", default=SUPPRESS, help=SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        base = (options["url"] or settings.SANDBOX_URL).rstrip("/")
        action = options["action"]
        body: dict[str, Any] = {"action": action}
        for name in ("at", "seconds", "speed"):
            if options.get(name) is not None:
                body[name] = options[name]
        try:
            with httpx.Client(base_url=base, timeout=10) as http:
                if action == "show":
                    reply = http.get("/_sandbox/state")
                else:
                    reply = http.post("/_sandbox/clock", json=body)
        except httpx.HTTPError as exc:
            raise CommandError(
                f"Cannot reach the sandbox at {base} ({exc}). Is `manage.py "
                "sandbox` running there? Pass --url or set SANDBOX_URL."
            ) from None
        try:
            data = reply.json()
        except ValueError:
            data = None
        if reply.status_code != 200 or not isinstance(data, dict):
            problem = data.get("error") if isinstance(data, dict) else None
            raise CommandError(
                f"The sandbox at {base} refused {action}: "
                f"{problem or f'HTTP {reply.status_code}'}"
            )
        clock = data["clock"] if action == "show" else data
        self.stdout.write(self._describe(clock))

    def _describe(self, clock: dict[str, Any]) -> str:
        # The offset is measured against this machine's clock.
        offset = float(clock["epoch"]) - time.time()
        state = "frozen" if clock["frozen"] else f"running at {clock['speed']:g}x"
        return f"Sandbox clock: {clock['now']} ({state}, {offset:+.0f} s from now)"
