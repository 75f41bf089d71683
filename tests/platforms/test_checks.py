"""System checks fire on the settings mistakes a user can make."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from platforms import checks

GOOD_KEY = "tH6bX6sQhV3Dl2vJbM1Yq9xJg4oY0sV7mJ8cW5nE2rA="


def _ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_it_requires_a_secret_key_with_debug_off():
    with override_settings(DEBUG=False, SECRET_KEY=""):
        assert _ids(checks.check_secret_key(None)) == ["platforms.E001"]


def test_it_accepts_a_missing_secret_key_in_debug():
    with override_settings(DEBUG=True, SECRET_KEY=""):
        assert checks.check_secret_key(None) == []
    with override_settings(DEBUG=False, SECRET_KEY="x" * 50):
        assert checks.check_secret_key(None) == []


def test_it_requires_a_token_encryption_key():
    with override_settings(TOKEN_ENCRYPTION_KEYS=[]):
        assert _ids(checks.check_token_keys(None)) == ["platforms.E002"]


def test_it_rejects_a_malformed_token_encryption_key():
    with override_settings(TOKEN_ENCRYPTION_KEYS=[GOOD_KEY, "not-a-fernet-key"]):
        errors = checks.check_token_keys(None)
    assert _ids(errors) == ["platforms.E003"]
    assert "entry 2" in errors[0].msg


def test_it_accepts_well_formed_keys():
    with override_settings(TOKEN_ENCRYPTION_KEYS=[GOOD_KEY]):
        assert checks.check_token_keys(None) == []


@pytest.mark.parametrize("timeout, retry", [(720, 720), (900, 720)])
def test_it_requires_the_q_timeout_below_retry(timeout, retry):
    with override_settings(
        Q_CLUSTER={**settings.Q_CLUSTER, "timeout": timeout, "retry": retry}
    ):
        assert _ids(checks.check_q_cluster(None)) == ["platforms.E010"]


def test_it_accepts_a_q_timeout_below_retry():
    with override_settings(
        Q_CLUSTER={**settings.Q_CLUSTER, "timeout": 60, "retry": 90}
    ):
        assert checks.check_q_cluster(None) == []


@pytest.mark.parametrize(
    "value", ["graph.facebook.com", "ftp://graph.facebook.com", "https://", ""]
)
def test_it_rejects_urls_that_are_not_absolute_http(value):
    with override_settings(FACEBOOK_GRAPH_URL=value):
        errors = checks.check_urls(None)
    assert _ids(errors) == ["platforms.E020"]
    assert "FACEBOOK_GRAPH_URL" in errors[0].msg


def test_it_accepts_the_configured_urls():
    assert checks.check_urls(None) == []


@override_settings(
    SANDBOX=False,
    TIKTOK_ENABLED=True,
    TIKTOK_CLIENT_KEY="",
    TIKTOK_CLIENT_SECRET="",
    YOUTUBE_ENABLED=True,
    GOOGLE_CLIENT_ID="id",
    GOOGLE_CLIENT_SECRET="",
    INSTAGRAM_ENABLED=False,
    FACEBOOK_APP_ID="",
    FACEBOOK_APP_SECRET="",
)
def test_it_warns_about_an_enabled_platform_without_credentials():
    warnings = checks.check_platform_credentials(None)
    assert _ids(warnings) == ["platforms.W001", "platforms.W001"]
    assert "TikTok" in warnings[0].msg and "TIKTOK_CLIENT_SECRET" in warnings[0].msg
    assert "GOOGLE_CLIENT_SECRET is not set" in warnings[1].msg


@override_settings(SANDBOX=True, TIKTOK_CLIENT_KEY="", TIKTOK_CLIENT_SECRET="")
def test_it_needs_no_credentials_in_the_sandbox():
    assert checks.check_platform_credentials(None) == []


def test_it_registers_every_check_with_django():
    from django.core.checks import registry

    registered = set(registry.registry.get_checks(include_deployment_checks=True))
    for check in (
        checks.check_secret_key,
        checks.check_token_keys,
        checks.check_q_cluster,
        checks.check_urls,
        checks.check_platform_credentials,
        checks.check_positive_numbers,
        checks.check_rate_limits,
    ):
        assert check in registered


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"HTTP_TIMEOUT_SECONDS": 0.0}, "HTTP_TIMEOUT_SECONDS"),
        ({"COLLECTION_INTERVAL_SCALE": -1.0}, "COLLECTION_INTERVAL_SCALE"),
        ({"YOUTUBE_DAILY_QUOTA": 0}, "YOUTUBE_DAILY_QUOTA"),
        ({"Q_CLUSTER": {**settings.Q_CLUSTER, "workers": 0}}, "Q_WORKERS"),
    ],
)
def test_it_rejects_numbers_that_must_be_above_zero(overrides, variable):
    with override_settings(**overrides):
        errors = checks.check_positive_numbers(None)
    assert _ids(errors) == ["platforms.E030"]
    assert errors[0].msg.startswith(f"{variable} is ")


def test_it_accepts_the_default_numbers():
    assert checks.check_positive_numbers(None) == []


@pytest.mark.parametrize(
    ("rates", "problem"),
    [
        ({"tiktok": {"video_query": "600 per minute"}}, "invalid rate"),
        ({"tiktok": {"video_query": ""}}, "invalid rate"),
        ({"tiktik": {"video_query": "600/m"}}, "not platform.endpoint_class"),
        ({"youtube": {"": "600/m"}}, "not platform.endpoint_class"),
    ],
)
def test_it_rejects_malformed_rate_limits(rates, problem):
    with override_settings(PLATFORM_RATE_LIMITS=rates):
        errors = checks.check_rate_limits(None)
    assert _ids(errors) == ["platforms.E040"]
    assert problem in errors[0].msg


def test_it_accepts_well_formed_rate_limits():
    rates = {"tiktok": {"video_query": "600/m"}, "instagram": {"media": "500/h"}}
    with override_settings(PLATFORM_RATE_LIMITS=rates):
        assert checks.check_rate_limits(None) == []
