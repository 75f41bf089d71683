"""Reading token replies into an OAuthGrant."""

from __future__ import annotations

import datetime as dt

from platforms.oauth.grant import OAuthGrant


def test_it_reads_a_tiktok_reply_with_comma_separated_scopes():
    grant = OAuthGrant.from_token_response(
        {
            "access_token": "act.example",
            "expires_in": 86400,
            "open_id": "-000example",
            "refresh_expires_in": 31536000,
            "refresh_token": "rft.example",
            "scope": "user.info.basic,video.list",
            "token_type": "Bearer",
        }
    )
    assert grant.scopes == ("user.info.basic", "video.list")
    assert grant.access_expires_at - grant.received_at == dt.timedelta(days=1)
    assert grant.refresh_expires_at - grant.received_at == dt.timedelta(days=365)


def test_it_reads_a_google_reply_with_space_separated_scopes():
    grant = OAuthGrant.from_token_response(
        {
            "access_token": "ya29.example",
            "expires_in": 3599,
            "scope": "openid https://www.googleapis.com/auth/youtube.readonly",
            "token_type": "Bearer",
        }
    )
    assert grant.scopes == (
        "openid",
        "https://www.googleapis.com/auth/youtube.readonly",
    )
    assert grant.refresh_token == ""
    assert grant.refresh_expires_at is None


def test_it_leaves_lifetimes_unknown_when_the_platform_does_not_say():
    grant = OAuthGrant.from_token_response(
        {"access_token": "EAAG.example", "token_type": "bearer", "expires_in": ""}
    )
    assert grant.access_expires_at is None
    assert grant.scopes is None


def test_it_keeps_tokens_out_of_its_repr():
    grant = OAuthGrant(access_token="act.secret-value", refresh_token="rft.secret")
    assert "secret" not in repr(grant)


def test_it_replaces_the_access_token_on_exchange():
    grant = OAuthGrant(access_token="short", expires_in=3600, scopes=("a",))
    long_lived = grant.exchanged({"access_token": "long", "expires_in": 5183944})
    assert long_lived.access_token == "long"
    assert long_lived.expires_in == 5183944
    assert long_lived.scopes == ("a",)
