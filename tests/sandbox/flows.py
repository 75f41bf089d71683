"""Drive the sandbox consent pages the way a browser would."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT = "http://127.0.0.1:8000/accounts/callback/"
TIKTOK_AUTH = "/tiktok-www/v2/auth/authorize/"
GOOGLE_AUTH = "/google-accounts/o/oauth2/v2/auth"
FACEBOOK_AUTH = "/facebook-www/v25.0/dialog/oauth"


def consent(
    client: httpx.Client,
    path: str,
    params: dict[str, str],
    decision: str = "approve",
    account: str | None = None,
) -> dict[str, str]:
    """Open the consent page, submit it, and return the redirect's parameters."""
    page = client.get(path, params=params)
    assert page.status_code == 200, page.text
    form = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    )
    checked = re.search(r'name="account" value="([^"]+)" checked', page.text)
    assert checked, "the first account is preselected"
    form["account"] = account or checked.group(1)
    form["decision"] = decision
    reply = client.post(path, params=params, data=form)
    assert reply.status_code == 302, reply.text
    location = reply.headers["location"]
    assert location.startswith(REDIRECT)
    query = urlsplit(location).query
    return {k: v[0] for k, v in parse_qs(query).items()}


def tiktok_params(**extra: str) -> dict[str, str]:
    params = {
        "client_key": "sandbox-tiktok-client-key",
        "scope": "user.info.basic,user.info.stats,video.list",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "state": "st-123",
    }
    params.update(extra)
    return params


def google_params(**extra: str) -> dict[str, str]:
    params = {
        "client_id": "sandbox-google-client-id",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid https://www.googleapis.com/auth/youtube.readonly",
        "access_type": "offline",
        "state": "st-456",
    }
    params.update(extra)
    return params


def facebook_params(**extra: str) -> dict[str, str]:
    params = {
        "client_id": "sandbox-facebook-app-id",
        "redirect_uri": REDIRECT,
        "state": "st-789",
        "scope": "instagram_basic,instagram_manage_insights,pages_show_list",
        "response_type": "code",
    }
    params.update(extra)
    return params


def tiktok_token(client: httpx.Client, code: str, **extra: str) -> httpx.Response:
    data = {
        "client_key": "sandbox-tiktok-client-key",
        "client_secret": "sandbox-tiktok-client-secret",
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
    }
    data.update(extra)
    return client.post("/tiktok-open/v2/oauth/token/", data=data)


def tiktok_refresh(client: httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post(
        "/tiktok-open/v2/oauth/token/",
        data={
            "client_key": "sandbox-tiktok-client-key",
            "client_secret": "sandbox-tiktok-client-secret",
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
    )


def google_token(client: httpx.Client, **data: str) -> httpx.Response:
    form = {
        "client_id": "sandbox-google-client-id",
        "client_secret": "sandbox-google-client-secret",
        "redirect_uri": REDIRECT,
    }
    form.update(data)
    return client.post("/google-oauth2/token", data=form)


def facebook_token(client: httpx.Client, **params: str) -> httpx.Response:
    query = {
        "client_id": "sandbox-facebook-app-id",
        "client_secret": "sandbox-facebook-app-secret",
    }
    query.update(params)
    return client.get("/facebook-graph/v25.0/oauth/access_token", params=query)
