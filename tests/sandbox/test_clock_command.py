"""`manage.py sandbox_clock` moves the clock of a sandbox served on a real port."""

from __future__ import annotations

import io
import socket
import time

import pytest
from django.core.management import CommandError, call_command

from platforms.sandbox import Sandbox

from .conftest import FROZEN_AT


@pytest.fixture
def served(serve):
    sandbox = Sandbox(seed=1, config={"clock": {"frozen_at": FROZEN_AT}})
    return sandbox, serve(sandbox)


def clock(*args: str, **options) -> str:
    out = io.StringIO()
    call_command("sandbox_clock", *args, stdout=out, **options)
    return out.getvalue().strip()


def test_it_advances_sets_and_shows_the_clock(served):
    sandbox, url = served

    advanced = clock("advance", "3600", url=url)
    after_advance = sandbox.clock.now_datetime().isoformat()
    clock("advance", "90m", url=url)
    after_minutes = sandbox.clock.now_datetime().isoformat()
    clock("set", "2026-11-01T06:59:00Z", url=url)
    shown = clock("show", url=url)

    assert advanced.startswith("Sandbox clock: 2026-06-15T13:00:00+00:00 (frozen")
    assert after_advance == "2026-06-15T13:00:00+00:00"
    assert after_minutes == "2026-06-15T14:30:00+00:00"
    assert shown.startswith("Sandbox clock: 2026-11-01T06:59:00+00:00 (frozen")


def test_it_freezes_unfreezes_and_changes_the_speed(served):
    sandbox, url = served

    clock("unfreeze", url=url)
    running = sandbox.clock.frozen
    sped = clock("speed", "60", url=url)
    speed = sandbox.clock.speed
    clock("freeze", "2026-06-15T12:00:00Z", url=url)

    assert running is False
    assert speed == 60.0 and "running at 60x" in sped
    assert sandbox.clock.frozen is True
    assert sandbox.clock.now_datetime().isoformat() == "2026-06-15T12:00:00+00:00"


def test_it_offsets_the_clock_from_real_time(served, time_machine):
    sandbox, url = served
    time_machine.move_to("2030-01-01T00:00:00+00:00", tick=False)

    ahead = clock("offset", "2d", url=url)
    moved_to = sandbox.clock.now_datetime().isoformat()
    clock("offset", "-3600", url=url)

    assert moved_to == "2030-01-03T00:00:00+00:00"
    assert "+172800 s from now" in ahead
    assert sandbox.clock.now() == time.time() - 3600


def test_it_uses_the_sandbox_url_setting(served, settings):
    sandbox, url = served
    settings.SANDBOX_URL = url + "/"

    clock("advance", "1d")

    assert sandbox.clock.now_datetime().isoformat() == "2026-06-16T12:00:00+00:00"


def test_it_accepts_the_url_after_the_action(served):
    sandbox, url = served

    call_command("sandbox_clock", "advance", "60", "--url", url, stdout=io.StringIO())

    assert sandbox.clock.now_datetime().isoformat() == "2026-06-15T12:01:00+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["advance", "ten"], "'ten' is not a duration"),
        (["set", "tomorrow"], "'tomorrow' is not an ISO-8601 instant"),
        (["speed", "0"], "'0' is not a positive number"),
    ],
)
def test_it_refuses_bad_arguments_before_calling_the_sandbox(served, args, message):
    sandbox, url = served

    with pytest.raises(CommandError, match=message):
        clock(*args, url=url)
    assert sandbox.requests.count(endpoint="sandbox.clock") == 0


def test_it_says_when_no_sandbox_answers():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # The socket is closed: nothing listens on that port now.

    with pytest.raises(CommandError, match=f"Cannot reach the sandbox at {dead}"):
        clock("show", url=dead)


def test_it_reports_what_the_sandbox_refused(served):
    sandbox, url = served

    with pytest.raises(CommandError, match="refused advance: unknown sandbox prefix"):
        clock("advance", "60", url=url + "/not-a-sandbox")
    assert sandbox.clock.now_datetime().isoformat() == "2026-06-15T12:00:00+00:00"
