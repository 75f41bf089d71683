"""Discovery edge cases the sandbox does not produce (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from platforms.clients.youtube import YouTubeClient
from platforms.oauth.discovery import (
    ConnectError,
    instagram_accounts,
    instagram_long_lived_grant,
    tiktok_account,
    youtube_channels,
)
from platforms.oauth.grant import OAuthGrant

GRANT = OAuthGrant.from_token_response({"access_token": "token-1"})


def _client(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def _youtube(handler) -> YouTubeClient:
    return YouTubeClient(
        access_token="token-1",
        transport=httpx.MockTransport(handler),
        sleep=lambda seconds: None,
    )


def test_it_explains_a_google_account_without_a_channel(db):
    client = _youtube(lambda request: httpx.Response(200, json={"items": []}))
    with pytest.raises(ConnectError, match="has no YouTube channel"):
        youtube_channels(GRANT, client=client)


def test_it_explains_a_missing_youtube_permission(db):
    error = {
        "error": {
            "code": 403,
            "message": "Insufficient Permission",
            "errors": [{"reason": "insufficientPermissions", "domain": "global"}],
        }
    }
    client = _youtube(lambda request: httpx.Response(403, json=error))
    with pytest.raises(ConnectError, match="permission was not granted"):
        youtube_channels(GRANT, client=client)


def test_it_explains_an_unreachable_platform(db):
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ConnectError, match="no answer"):
        youtube_channels(GRANT, client=_youtube(refuse))


def test_it_sends_the_access_token_as_a_bearer_header(db):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"items": [{"id": "UC1", "snippet": {}}]})

    [channel] = youtube_channels(GRANT, client=_youtube(handler))
    assert channel.platform_user_id == "UC1"
    assert seen[0].headers["Authorization"] == "Bearer token-1"
    assert seen[0].url.params["mine"] == "true"
    assert "key" not in seen[0].url.params


def test_it_explains_pages_without_an_instagram_account():
    client = _client(lambda request: httpx.Response(200, json={"data": [{"id": "p1"}]}))
    with pytest.raises(ConnectError, match="Instagram professional account"):
        instagram_accounts(GRANT, app_secret="s", client=client)


def test_it_stops_paging_when_graph_repeats_the_next_link():
    calls = []

    def handler(request):
        calls.append(request)
        if request.url.path.endswith("/me/accounts"):
            page = {"id": "p1", "instagram_business_account": {"id": "17841"}}
            return httpx.Response(
                200,
                json={
                    "data": [page],
                    "paging": {"next": "https://graph.example/v25.0/me/accounts?x=1"},
                },
            )
        return httpx.Response(200, json={"id": "17841", "username": "someone"})

    [account] = instagram_accounts(GRANT, app_secret="s", client=_client(handler))
    assert account.handle == "@someone" and account.page_id == "p1"
    page_calls = [c for c in calls if c.url.path.endswith("/me/accounts")]
    assert len(page_calls) == 2  # the first page, then the repeated link once
    assert len(calls[0].url.params["appsecret_proof"]) == 64


def test_it_explains_a_refused_token_exchange():
    client = _client(lambda request: httpx.Response(400, json={"error": {"code": 190}}))
    with pytest.raises(ConnectError, match="did not extend the login"):
        instagram_long_lived_grant(
            GRANT, client_id="app", client_secret="secret", client=client
        )


def test_it_reads_the_tiktok_profile():
    account = tiktok_account(
        {"open_id": "-000abc", "union_id": "u1", "username": "me", "display_name": "Me"}
    )
    assert (account.platform_user_id, account.union_id, account.handle) == (
        "-000abc",
        "u1",
        "@me",
    )
