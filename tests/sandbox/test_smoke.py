"""The sandbox answers on every platform prefix."""

from __future__ import annotations


def test_it_reports_state_with_accounts_per_platform(client):
    state = client.get("/_sandbox/state").json()

    assert state["clock"]["frozen"] is True
    assert {p: len(a) for p, a in state["accounts"].items()} == {
        "tiktok": 3,
        "youtube": 3,
        "instagram": 3,
    }


def test_it_serves_tiktok_user_info_with_an_issued_token(sb, client):
    tokens = sb.issue_tokens("tiktok", "tiktok-0")

    reply = client.get(
        "/tiktok-open/v2/user/info/",
        params={"fields": "open_id,display_name"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )

    assert reply.status_code == 200
    body = reply.json()
    assert body["error"]["code"] == "ok"
    assert body["data"]["user"]["open_id"] == tokens["open_id"]
