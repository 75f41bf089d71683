"""Provider apps come from settings; a platform without credentials gets none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from allauth.socialaccount.adapter import get_adapter
from django.conf import settings

from platforms.oauth.facebook.provider import FacebookProvider
from platforms.oauth.google.provider import GoogleProvider
from platforms.oauth.tiktok.provider import TikTokProvider

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.checks import run_checks
from django.urls import NoReverseMatch, reverse
def url(name):
    try:
        return reverse(name)
    except NoReverseMatch:
        return None
print(json.dumps({
    "apps": [a for a in settings.INSTALLED_APPS if ".providers." in a],
    "tiktok_login": url("tiktok_login"),
    "google_login": url("google_login"),
    "warnings": [m.msg for m in run_checks() if m.id == "platforms.W001"],
}))
"""


def test_it_swaps_in_the_providers_with_settings_driven_urls(rf, db):
    request = rf.get("/")
    adapter = get_adapter(request)
    expected = {
        "tiktok": TikTokProvider,
        "google": GoogleProvider,
        "facebook": FacebookProvider,
    }
    for provider_id, cls in expected.items():
        provider = adapter.get_provider(request, provider_id)
        assert type(provider) is cls
        assert provider.app.pk is None  # from settings, not a SocialApp row
    google = adapter.get_provider(request, "google").get_oauth2_adapter(request)
    assert google.authorize_url == f"{settings.GOOGLE_AUTH_URL}/o/oauth2/v2/auth"
    assert google.access_token_url == f"{settings.GOOGLE_TOKEN_URL}/token"


def test_it_installs_no_provider_for_a_platform_without_credentials():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "SANDBOX": "0",
        "TIKTOK_CLIENT_KEY": "",
        "TIKTOK_CLIENT_SECRET": "",
        "GOOGLE_CLIENT_ID": "real-client-id",
        "GOOGLE_CLIENT_SECRET": "real-client-secret",
        "FACEBOOK_APP_ID": "",
        "FACEBOOK_APP_SECRET": "",
        "INSTAGRAM_ENABLED": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["apps"] == ["allauth.socialaccount.providers.google"]
    assert probe["tiktok_login"] is None
    assert probe["google_login"] == "/accounts/google/login/"
    [warning] = probe["warnings"]
    assert "TIKTOK_CLIENT_KEY" in warning
