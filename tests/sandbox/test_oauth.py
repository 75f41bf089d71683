"""OAuth imitations: consent pages, codes, PKCE, refresh rotation and reuse."""

from __future__ import annotations

import base64
import hashlib

import pytest

from platforms.sandbox import Sandbox

from .conftest import FROZEN_AT
from .flows import (
    FACEBOOK_AUTH,
    GOOGLE_AUTH,
    REDIRECT,
    TIKTOK_AUTH,
    consent,
    facebook_params,
    facebook_token,
    google_params,
    google_token,
    tiktok_params,
    tiktok_refresh,
    tiktok_token,
)


def user_info(client, access_token):
    return client.get(
        "/tiktok-open/v2/user/info/",
        params={"fields": "open_id"},
        headers={"Authorization": f"Bearer {access_token}"},
    )


# --- consent pages ---------------------------------------------------------


def test_it_shows_one_radio_per_creator_and_two_buttons(client):
    page = client.get(TIKTOK_AUTH, params=tiktok_params()).text

    assert page.count('type="radio" name="account"') == 3
    assert '<button type="submit" name="decision" value="approve">' in page
    assert '<button type="submit" name="decision" value="deny">' in page
    assert '<form method="post">' in page


def test_it_redirects_with_code_state_and_scopes_on_approve(client):
    params = consent(client, TIKTOK_AUTH, tiktok_params(), account="tiktok-1")

    assert params["state"] == "st-123"
    assert params["scopes"] == "user.info.basic,user.info.stats,video.list"
    assert params["code"]


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        (
            TIKTOK_AUTH,
            tiktok_params(),
            {"error": "access_denied", "state": "st-123"},
        ),
        (GOOGLE_AUTH, google_params(), {"error": "access_denied", "state": "st-456"}),
        (
            FACEBOOK_AUTH,
            facebook_params(),
            {
                "error": "access_denied",
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
                "state": "st-789",
            },
        ),
    ],
)
def test_it_redirects_with_the_platform_error_on_deny(client, path, params, expected):
    reply = consent(client, path, params, decision="deny")

    assert {k: reply[k] for k in expected} == expected
    assert "code" not in reply


def test_it_rejects_an_unapproved_tiktok_scope_with_invalid_scope(client):
    reply = client.get(
        TIKTOK_AUTH, params=tiktok_params(scope="user.info.basic,ads.manage")
    )

    assert reply.status_code == 302
    assert "error=invalid_scope" in reply.headers["location"]


def test_it_refuses_an_unknown_client_on_the_consent_page(client):
    reply = client.get(GOOGLE_AUTH, params=google_params(client_id="nope"))

    assert reply.status_code == 401
    assert "invalid_client" in reply.text


# --- TikTok ----------------------------------------------------------------------


def test_it_exchanges_a_tiktok_code_once(client):
    code = consent(client, TIKTOK_AUTH, tiktok_params())["code"]

    first = tiktok_token(client, code)
    replay = tiktok_token(client, code)

    assert first.status_code == 200
    assert first.json()["access_token"].startswith("act.")
    assert replay.json()["error"] == "invalid_grant"


def test_it_expires_codes_after_ten_minutes(sb, client):
    code = consent(client, TIKTOK_AUTH, tiktok_params())["code"]
    sb.clock.advance(601)

    assert tiktok_token(client, code).json()["error"] == "invalid_grant"


def test_it_binds_codes_to_the_redirect_uri_and_client(client):
    code = consent(client, TIKTOK_AUTH, tiktok_params())["code"]
    other = consent(client, TIKTOK_AUTH, tiktok_params())["code"]

    wrong_uri = tiktok_token(client, code, redirect_uri=REDIRECT + "x")
    wrong_secret = tiktok_token(client, other, client_secret="guess")

    assert wrong_uri.json()["error"] == "invalid_grant"
    assert wrong_secret.json()["error"] == "invalid_client"


@pytest.mark.parametrize("encoding", ["hex", "base64url"])
def test_it_checks_the_pkce_verifier(client, encoding):
    verifier = "v" * 50
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = (
        digest.hex()
        if encoding == "hex"
        else base64.urlsafe_b64encode(digest).decode().rstrip("=")
    )
    params = tiktok_params(code_challenge=challenge, code_challenge_method="S256")
    good = consent(client, TIKTOK_AUTH, params)["code"]
    bad = consent(client, TIKTOK_AUTH, params)["code"]
    missing = consent(client, TIKTOK_AUTH, params)["code"]

    assert (
        tiktok_token(client, bad, code_verifier="w" * 50).json()["error"]
        == "invalid_grant"
    )
    assert tiktok_token(client, missing).json()["error"] == "invalid_request"
    assert tiktok_token(client, good, code_verifier=verifier).status_code == 200


def test_it_rotates_the_refresh_token_on_every_refresh(sb, client):
    first = sb.issue_tokens("tiktok", "tiktok-0")

    second = tiktok_refresh(client, first["refresh_token"]).json()
    reuse = tiktok_refresh(client, first["refresh_token"]).json()
    third = tiktok_refresh(client, second["refresh_token"]).json()

    assert second["refresh_token"] != first["refresh_token"]
    assert reuse["error"] == "invalid_grant"
    assert third["refresh_token"] not in {
        first["refresh_token"],
        second["refresh_token"],
    }
    # Without reuse detection the family stays alive.
    assert user_info(client, third["access_token"]).status_code == 200


@pytest.mark.parametrize("switch", ["config", "fault"])
def test_it_revokes_the_family_when_a_rotated_token_is_reused(switch):
    import httpx

    from platforms.sandbox import Sandbox

    config = {"tokens": {"tiktok": {"reuse_detection": switch == "config"}}}
    sb = Sandbox(seed=1, config=config)
    if switch == "fault":
        sb.faults.add("refresh_reuse_detection", platform="tiktok")
    client = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
    first = sb.issue_tokens("tiktok", "tiktok-0")
    second = tiktok_refresh(client, first["refresh_token"]).json()

    reuse = tiktok_refresh(client, first["refresh_token"]).json()

    assert reuse["error"] == "invalid_grant"
    assert user_info(client, second["access_token"]).status_code == 401
    assert (
        tiktok_refresh(client, second["refresh_token"]).json()["error"]
        == "invalid_grant"
    )


def test_it_keeps_the_refresh_lifetime_across_rotations(sb, client):
    first = sb.issue_tokens("tiktok", "tiktok-0")
    sb.clock.advance(3600)

    second = tiktok_refresh(client, first["refresh_token"]).json()

    assert second["refresh_expires_in"] == first["refresh_expires_in"] - 3600
    assert second["expires_in"] == 86400


def test_it_expires_tiktok_access_tokens_with_the_clock(sb, client):
    tokens = sb.issue_tokens("tiktok", "tiktok-0")
    sb.clock.advance(tokens["expires_in"])

    assert user_info(client, tokens["access_token"]).json()["error"]["code"] == (
        "access_token_invalid"
    )


def test_it_revokes_tiktok_tokens(sb, client):
    tokens = sb.issue_tokens("tiktok", "tiktok-0")

    reply = client.post(
        "/tiktok-open/v2/oauth/revoke/",
        data={
            "client_key": "sandbox-tiktok-client-key",
            "client_secret": "sandbox-tiktok-client-secret",
            "token": tokens["access_token"],
        },
    )

    assert reply.status_code == 200
    assert user_info(client, tokens["access_token"]).status_code == 401
    assert (
        tiktok_refresh(client, tokens["refresh_token"]).json()["error"]
        == "invalid_grant"
    )


# --- Google ------------------------------------------------------------------------


def google_code(client, **extra):
    return consent(client, GOOGLE_AUTH, google_params(**extra))["code"]


def exchange(client, code):
    return google_token(client, grant_type="authorization_code", code=code).json()


def test_it_gives_a_refresh_token_on_the_first_offline_grant_only(client):
    first = exchange(client, google_code(client))
    again = exchange(client, google_code(client))
    forced = exchange(client, google_code(client, prompt="consent"))

    assert "refresh_token" in first
    assert "refresh_token" not in again
    assert "refresh_token" in forced


def test_it_gives_no_refresh_token_without_offline_access(client):
    reply = exchange(client, google_code(client, access_type="online"))

    assert "refresh_token" not in reply
    assert reply["expires_in"] == 3599


def test_it_omits_the_refresh_token_from_refresh_replies(client):
    tokens = exchange(client, google_code(client))

    refreshed = google_token(
        client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    ).json()
    again = google_token(
        client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    ).json()

    assert set(refreshed) == {"access_token", "expires_in", "scope", "token_type"}
    assert again["access_token"] != refreshed["access_token"]


def test_it_refuses_a_revoked_google_refresh_token(client):
    tokens = exchange(client, google_code(client))

    client.post("/google-oauth2/revoke", data={"token": tokens["refresh_token"]})
    reply = google_token(
        client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )

    assert reply.status_code == 400
    assert reply.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_it_expires_refresh_tokens_of_apps_in_testing(client):
    import httpx

    from platforms.sandbox import Sandbox

    sb = Sandbox(seed=2, config={"tokens": {"google": {"refresh_ttl": 604800}}})
    http = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
    tokens = sb.issue_tokens("youtube", 0)
    sb.clock.advance(604800)

    reply = google_token(
        http, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )

    assert reply.json()["error"] == "invalid_grant"


def test_it_serves_userinfo_for_allauth(sb, client):
    token = sb.issue_tokens("youtube", "youtube-1")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    v2 = client.get("/google-apis/oauth2/v2/userinfo", headers=headers).json()
    v3 = client.get("/google-openid/v1/userinfo", headers=headers).json()

    assert {"id", "email", "name", "picture"} <= set(v2)
    assert {"sub", "email", "name", "picture"} <= set(v3)
    assert v2["id"] == v3["sub"]
    assert client.get("/google-apis/oauth2/v3/userinfo").status_code == 401


# --- Facebook ------------------------------------------------------------------------


def test_it_exchanges_a_facebook_code_then_a_long_lived_token(client):
    code = consent(client, FACEBOOK_AUTH, facebook_params(), account="instagram-2")[
        "code"
    ]

    short = facebook_token(client, code=code, redirect_uri=REDIRECT).json()
    replay = facebook_token(client, code=code, redirect_uri=REDIRECT).json()
    long = facebook_token(
        client, grant_type="fb_exchange_token", fb_exchange_token=short["access_token"]
    ).json()
    me = client.get(
        "/facebook-graph/v25.0/me", params={"access_token": long["access_token"]}
    ).json()

    assert short["token_type"] == "bearer"
    assert short["expires_in"] < long["expires_in"] == 5183944
    assert replay["error"]["code"] == 100
    assert replay["error"]["error_subcode"] == 36009
    assert set(me) == {"id", "name"}


def test_it_checks_the_appsecret_proof(sb, client):
    import hmac

    token = sb.issue_tokens("instagram", 0)["access_token"]
    proof = hmac.new(b"sandbox-facebook-app-secret", token.encode(), hashlib.sha256)

    good = client.get(
        "/facebook-graph/v25.0/me",
        params={"access_token": token, "appsecret_proof": proof.hexdigest()},
    )
    bad = client.get(
        "/facebook-graph/v25.0/me",
        params={"access_token": token, "appsecret_proof": "0"},
    )

    assert good.status_code == 200
    assert bad.json()["error"]["code"] == 100


def test_it_reports_expired_graph_tokens_with_code_190(sb, client):
    token = sb.issue_tokens("instagram", 0)["access_token"]
    sb.clock.advance(5183944)

    error = client.get(
        "/facebook-graph/v25.0/me", params={"access_token": token}
    ).json()

    assert (error["error"]["code"], error["error"]["error_subcode"]) == (190, 463)


# --- a fast clock ------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["tiktok", "youtube", "instagram"])
def test_a_fast_clock_with_real_time_tokens_keeps_them_for_their_expires_in(platform):
    # The demo runs the clock 60x; the product refreshes by expires_in on its
    # real clock, so the sandbox counts the lifetime in real seconds.
    sb = Sandbox(
        seed=42,
        config={"clock": {"frozen_at": FROZEN_AT}, "tokens": {"real_time_ttl": True}},
    )
    sb.clock.set_speed(60)
    reply = sb.issue_tokens(platform, 0)
    token = sb.tokens.get(reply["access_token"])
    issued = sb.clock.now()
    assert token.expires_at == issued + 60 * reply["expires_in"]

    sb.clock.advance(reply["expires_in"])  # a sandbox lifetime: still valid
    assert token.is_valid(sb.clock.now())
    sb.clock.advance(59 * reply["expires_in"])  # the real one: expired
    assert not token.is_valid(sb.clock.now())


def test_without_real_time_tokens_a_fast_clock_expires_them_in_sandbox_time(sb):
    sb.clock.set_speed(60)
    reply = sb.issue_tokens("youtube", 0)
    token = sb.tokens.get(reply["access_token"])
    sb.clock.advance(reply["expires_in"])
    assert not token.is_valid(sb.clock.now())
