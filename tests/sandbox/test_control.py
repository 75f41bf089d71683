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


# --- item visibility ---------------------------------------------------------


def _youtube(sb, client):
    """(uploads playlist entries by id, ids videos.list returns) of youtube-0."""
    account = sb.world.accounts("youtube")[0]
    token = sb.issue_tokens("youtube", account.id)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    entries = client.get(
        "/google-apis/youtube/v3/playlistItems",
        params={
            "part": "snippet,status",
            "playlistId": "UU" + account.external_id[2:],
            "maxResults": 20,
        },
        headers=headers,
    ).json()["items"]
    by_id = {e["snippet"]["resourceId"]["videoId"]: e for e in entries}
    found = client.get(
        "/google-apis/youtube/v3/videos",
        params={"part": "id", "id": ",".join(by_id)},
        headers=headers,
    ).json()["items"]
    return by_id, {v["id"] for v in found}


def test_it_deletes_privatises_and_republishes_a_youtube_video(sb, client):
    by_id, listed = _youtube(sb, client)
    video = next(v for v in by_id if v in listed)

    deleted = client.post(
        "/_sandbox/items",
        json={"platform": "youtube", "item": video, "visibility": "deleted"},
    )
    gone_entries, gone_listed = _youtube(sb, client)
    sb.set_visibility("youtube", video, "private")
    private_entries, private_listed = _youtube(sb, client)
    client.post(
        "/_sandbox/items",
        json={"platform": "youtube", "item": video, "visibility": "public"},
    )
    back_entries, back_listed = _youtube(sb, client)

    assert deleted.status_code == 200
    assert deleted.json() == {
        "platform": "youtube",
        "item": video,
        "visibility": "deleted",
    }
    # A placeholder stays in the uploads playlist; videos.list leaves it out.
    assert gone_entries[video]["snippet"]["title"] == "Deleted video"
    assert video not in gone_listed
    assert gone_listed == listed - {video}
    assert private_entries[video]["snippet"]["title"] == "Private video"
    assert private_entries[video]["status"]["privacyStatus"] == "private"
    assert video not in private_listed
    assert back_entries[video] == by_id[video]
    assert back_listed == listed


def test_it_republishes_the_worlds_own_deleted_video(sb, client):
    from platforms.sandbox.core import world as w

    account = sb.world.accounts("youtube")[0]
    placeholder = sb.world.item(account, w.DELETED).external_id
    _, before = _youtube(sb, client)

    sb.set_visibility("youtube", placeholder, "public")
    _, after = _youtube(sb, client)

    assert placeholder not in before
    assert after == before | {placeholder}


def test_it_takes_deleted_tiktok_and_instagram_items_out_of_every_reply(sb, client):
    tiktok = sb.world.accounts("tiktok")[0]
    tt_headers = {
        "Authorization": "Bearer " + sb.issue_tokens("tiktok", 0)["access_token"]
    }
    video = sb.world.item(tiktok, 1).external_id
    instagram = sb.world.accounts("instagram")[0]
    ig_token = sb.issue_tokens("instagram", 0)["access_token"]
    post = sb.world.item(instagram, 1).external_id

    def tiktok_ids():
        listed = client.post(
            "/tiktok-open/v2/video/list/",
            params={"fields": "id"},
            json={"max_count": 5},
            headers=tt_headers,
        ).json()["data"]
        queried = client.post(
            "/tiktok-open/v2/video/query/",
            params={"fields": "id"},
            json={"filters": {"video_ids": [video]}},
            headers=tt_headers,
        ).json()["data"]
        return [v["id"] for v in listed["videos"]], [v["id"] for v in queried["videos"]]

    def instagram_ids():
        listed = client.get(
            f"/facebook-graph/v25.0/{instagram.external_id}/media",
            params={"fields": "id", "limit": 5, "access_token": ig_token},
        ).json()
        single = client.get(
            f"/facebook-graph/v25.0/{post}",
            params={"fields": "id", "access_token": ig_token},
        ).json()
        return [m["id"] for m in listed["data"]], listed["paging"], single

    tt_before, ig_before = tiktok_ids(), instagram_ids()
    sb.set_visibility("tiktok", video, "deleted")
    sb.set_visibility("facebook", post, "private")
    tt_gone, ig_gone = tiktok_ids(), instagram_ids()
    sb.set_visibility("tiktok", video, "public")
    sb.set_visibility("instagram", post, "public")

    assert video in tt_before[0] and tt_before[1] == [video]
    # The page comes back one short; paging goes on as before.
    assert tt_gone == ([i for i in tt_before[0] if i != video], [])
    assert post in ig_before[0] and ig_before[2] == {"id": post}
    assert ig_gone[0] == [i for i in ig_before[0] if i != post]
    assert ig_gone[1]["cursors"] == ig_before[1]["cursors"]
    assert ig_gone[2]["error"]["error_subcode"] == 33
    assert (tiktok_ids(), instagram_ids()) == (tt_before, ig_before)


def test_item_visibility_shows_in_state_and_reset_undoes_it(sb, client):
    by_id, listed = _youtube(sb, client)
    video = next(v for v in by_id if v in listed)
    sb.set_visibility("youtube", video, "deleted")

    state = client.get("/_sandbox/state").json()
    client.post("/_sandbox/reset")

    assert state["visibility"] == [
        {"platform": "youtube", "item": video, "visibility": "deleted"}
    ]
    assert _youtube(sb, client) == (by_id, listed)
    assert client.get("/_sandbox/state").json()["visibility"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"platform": "youtube", "item": "AAAAAAAAAAA", "visibility": "deleted"}, 404),
        ({"platform": "youtube", "item": "x", "visibility": "hidden"}, 400),
        ({"platform": "myspace", "item": "x", "visibility": "deleted"}, 400),
        ({"platform": "youtube", "visibility": "deleted"}, 400),
        (["not", "an", "object"], 400),
    ],
)
def test_it_refuses_bad_visibility_changes(sb, client, body, status):
    reply = client.post("/_sandbox/items", json=body)

    assert reply.status_code == status
    assert reply.json()["error"]
    assert sb.world.changed_visibility() == []
