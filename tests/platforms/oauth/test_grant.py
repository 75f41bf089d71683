"""Reading token replies into an OAuthGrant."""

from __future__ import annotations

import pytest

from platforms.oauth.grant import OAuthGrant


def test_it_reads_tiktoks_comma_separated_scopes():
    grant = OAuthGrant.from_token_response(
        {
            "access_token": "act.example",
            "expires_in": 86400,
            "refresh_token": "rft.example",
            "scope": "user.info.basic,video.list",
        }
    )
    assert grant.scopes == ("user.info.basic", "video.list")
    assert grant.refresh_token == "rft.example"


def test_it_reads_googles_space_separated_scopes():
    grant = OAuthGrant.from_token_response(
        {
            "access_token": "ya29.example",
            "scope": "openid https://www.googleapis.com/auth/youtube.readonly",
        }
    )
    assert grant.scopes == (
        "openid",
        "https://www.googleapis.com/auth/youtube.readonly",
    )
    assert grant.refresh_token == ""


def test_it_says_so_when_the_reply_lists_no_scopes():
    grant = OAuthGrant.from_token_response({"access_token": "EAAG.example"})
    assert grant.scopes is None


def test_it_refuses_a_reply_without_an_access_token():
    with pytest.raises(ValueError):
        OAuthGrant.from_token_response({"error": "invalid_grant"})


def test_it_keeps_tokens_out_of_its_repr():
    grant = OAuthGrant.from_token_response(
        {"access_token": "act.secret-value", "refresh_token": "rft.secret"}
    )
    assert "secret" not in repr(grant)


def test_it_replaces_the_reply_on_exchange():
    grant = OAuthGrant.from_token_response({"access_token": "short"})
    long_lived = grant.exchanged({"access_token": "long", "expires_in": 5183944})
    assert long_lived.access_token == "long"
    assert long_lived.reply["expires_in"] == 5183944
