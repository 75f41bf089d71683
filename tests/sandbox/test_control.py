"""Control endpoints, the request log, the ASGI app and `manage.py sandbox`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from platforms.sandbox import Sandbox


def test_it_moves_the_clock_over_http(sb, client):
    frozen = client.post(
        "/_sandbox/clock", json={"action": "advance", "seconds": 90}
    ).json()
    moved = client.post(
        "/_sandbox/clock", json={"action": "set", "at": "2026-11-01T06:59:00Z"}
    ).json()
    running = client.post("/_sandbox/clock", json={"action": "unfreeze"}).json()
    refrozen = client.post("/_sandbox/clock", json={"action": "freeze"}).json()

    assert frozen["now"] == "2026-06-15T12:01:30+00:00"
    assert moved["now"] == "2026-11-01T06:59:00+00:00"
    assert running["frozen"] is False and refrozen["frozen"] is True
    assert client.post("/_sandbox/clock", json={"action": "jump"}).status_code == 400


def test_it_offsets_the_clock_from_real_time_over_http(sb, client, time_machine):
    time_machine.move_to("2030-01-01T00:00:00+00:00", tick=False)

    ahead = client.post("/_sandbox/clock", json={"action": "offset", "seconds": 7200})
    behind = client.post("/_sandbox/clock", json={"action": "offset", "seconds": -60})

    assert ahead.json()["now"] == "2030-01-01T02:00:00+00:00"
    assert behind.json()["now"] == "2029-12-31T23:59:00+00:00"
    assert behind.json()["frozen"] is True  # frozen stays frozen, at the new time


@pytest.mark.parametrize(
    "body",
    [
        {"action": "advance"},
        {"action": "advance", "seconds": "soon"},
        {"action": "offset", "seconds": None},
        {"action": "offset", "seconds": True},
        {"action": "speed", "speed": "fast"},
        {"action": "speed", "speed": -1},
        {"action": "set", "at": "tomorrow"},
        {"action": "advance", "seconds": "nan"},
    ],
)
def test_it_refuses_bad_clock_values_with_a_400(sb, client, body):
    reply = client.post("/_sandbox/clock", json=body)

    assert reply.status_code == 400
    assert reply.json()["error"]
    assert sb.clock.now_datetime().isoformat() == "2026-06-15T12:00:00+00:00"


def test_it_counts_requests_per_endpoint_and_token_without_storing_tokens(sb, client):
    first = sb.issue_tokens("tiktok", 0)["access_token"]
    second = sb.issue_tokens("tiktok", 1)["access_token"]
    for token in (first, first, second):
        client.get(
            "/tiktok-open/v2/user/info/",
            params={"fields": "open_id"},
            headers={"Authorization": f"Bearer {token}"},
        )

    log = client.get(
        "/_sandbox/requests", params={"endpoint": "tiktok.user.info", "token": first}
    ).json()
    everything = client.get("/_sandbox/requests").text

    assert log["counts"] == {"tiktok.user.info": 2}
    assert log["recent"][-1]["status"] == 200
    assert sb.requests.count(endpoint="tiktok.user.info", token=second) == 1
    assert first not in everything and second not in everything


def test_it_counts_exactly_one_refresh(sb, client):
    tokens = sb.issue_tokens("tiktok", 0)

    client.post(
        "/tiktok-open/v2/oauth/token/",
        data={
            "client_key": "sandbox-tiktok-client-key",
            "client_secret": "sandbox-tiktok-client-secret",
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        },
    )

    assert sb.requests.count(endpoint="tiktok.oauth.token") == 1
    assert (
        sb.requests.count(endpoint="tiktok.oauth.token", token=tokens["refresh_token"])
        == 1
    )


def test_it_issues_tokens_and_resets_over_http(sb, client):
    issued = client.post(
        "/_sandbox/tokens", json={"platform": "youtube", "account": "youtube-2"}
    )
    client.post("/_sandbox/clock", json={"action": "advance", "seconds": 5})
    client.post("/_sandbox/reset")

    headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    after = client.get("/google-apis/oauth2/v2/userinfo", headers=headers)

    assert issued.status_code == 200
    assert after.status_code == 401
    assert sb.clock.now_datetime().isoformat() == "2026-06-15T12:00:00+00:00"
    assert client.post("/_sandbox/tokens", json={"platform": "x"}).status_code == 400


def test_it_answers_unknown_paths_in_the_platform_format(client):
    graph = client.get("/facebook-graph/v25.0/me/nothing/here").json()
    google = client.get("/google-apis/youtube/v3/nothing")
    prefix = client.get("/nowhere/at/all")

    assert graph["error"]["code"] == 2500
    assert google.status_code == 404 and google.json()["error"]["code"] == 404
    assert prefix.status_code == 404


def test_it_serves_the_same_app_over_asgi(sb):
    async def fetch():
        transport = sb.async_transport()
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox.test"
        ) as c:
            return await c.get("/_sandbox/state")

    # A thread of its own: another test may leave an event loop running here.
    replies = []
    thread = threading.Thread(target=lambda: replies.append(asyncio.run(fetch())))
    thread.start()
    thread.join()
    reply = replies[0]

    assert reply.status_code == 200
    assert reply.json()["seed"] == 42


@pytest.mark.multiprocess
def test_it_runs_as_a_management_command_and_stops_on_sigterm(tmp_path):
    config = tmp_path / "sandbox.json"
    config.write_text('{"world": {"accounts": {"tiktok": 1}}}')
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sandbox",
            "--port",
            "0",
            "--seed",
            "4",
            "--config",
            str(config),
            "--frozen-at",
            "2026-03-08T07:59:00Z",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    try:
        line = process.stdout.readline().strip()
        url = line.rsplit(" ", 1)[-1]
        state = httpx.get(f"{url}/_sandbox/state", timeout=30).json()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)

    assert line.startswith("Sandbox serving on http://127.0.0.1:")
    assert state["seed"] == 4
    assert state["clock"] == {
        "now": "2026-03-08T07:59:00+00:00",
        "epoch": 1772956740.0,
        "frozen": True,
        "speed": 1.0,
    }
    assert len(state["accounts"]["tiktok"]) == 1
    assert code == 0


def test_it_loads_config_from_a_json_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"limits": {"youtube": {"daily_quota": 5}}}')

    sb = Sandbox(seed=1, config=str(path))

    assert sb.config["limits"]["youtube"]["daily_quota"] == 5
    assert sb.config["limits"]["youtube"]["costs"]["default"] == 1


def test_the_clock_runs_faster_when_asked(time_machine):
    from platforms.sandbox.core.clock import Clock

    time_machine.move_to("2026-06-15T12:00:00+00:00", tick=False)
    clock = Clock()
    clock.set("2026-06-15T12:00:00+00:00")
    clock.set_speed(60)
    time_machine.shift(60)  # one real minute...
    assert clock.now_datetime().isoformat() == "2026-06-15T13:00:00+00:00"  # ...an hour
    clock.advance(3600)
    time_machine.shift(1)
    assert clock.now_datetime().isoformat() == "2026-06-15T14:01:00+00:00"
    with pytest.raises(ValueError):
        clock.set_speed(0)
