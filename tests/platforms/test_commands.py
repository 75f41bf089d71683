"""Management commands: key rotation and API call log pruning."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from platforms import crypto
from platforms.models import ApiCallLog, ConnectedAccount, Credential

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _fresh_fernet():
    crypto.reset_cache()
    yield
    crypto.reset_cache()


def _raw_tokens() -> dict[int, tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, access_token, refresh_token FROM platforms_credential"
        )
        return {pk: (access, refresh) for pk, access, refresh in cursor.fetchall()}


def _credentials(creator, count: int) -> None:
    for n in range(count):
        account = ConnectedAccount.objects.create(
            owner=creator, platform="tiktok", platform_user_id=f"open-{n}"
        )
        refresh = f"rft.refresh-{n}" if n % 2 else ""  # some have none
        Credential.objects.create(
            account=account, access_token=f"act.access-{n}", refresh_token=refresh
        )


def test_it_re_encrypts_every_token_under_the_newest_key(creator):
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_A]):
        crypto.reset_cache()
        _credentials(creator, 5)
    before = _raw_tokens()

    out = StringIO()
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        call_command("rotate_token_keys", "--batch-size", "2", stdout=out)
    assert "Re-encrypted 5 credential(s)" in out.getvalue()

    after = _raw_tokens()
    for pk, (access, refresh) in after.items():
        assert access != before[pk][0]
        assert (refresh == "") == (before[pk][1] == "")
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_B]):
        crypto.reset_cache()
        tokens = sorted(Credential.objects.values_list("access_token", flat=True))
        assert tokens == [f"act.access-{n}" for n in range(5)]
        assert Credential.objects.get(account__platform_user_id="open-1").refresh_token
        assert Fernet(KEY_B.encode()).decrypt(after[min(after)][0].encode())


def test_it_changes_nothing_when_a_token_cannot_be_decrypted(creator):
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_A]):
        crypto.reset_cache()
        _credentials(creator, 2)
    before = _raw_tokens()
    with (
        override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_B]),
        pytest.raises(CommandError, match="cannot be decrypted"),
    ):
        call_command("rotate_token_keys", stdout=StringIO())
    assert _raw_tokens() == before


def _call_log(age_days: float) -> ApiCallLog:
    return ApiCallLog.objects.create(
        platform="youtube",
        endpoint="youtube.videos",
        method="GET",
        created_at=timezone.now() - dt.timedelta(days=age_days),
    )


@pytest.mark.django_db
@override_settings(API_CALL_LOG_RETENTION_DAYS=30)
def test_it_prunes_api_calls_older_than_the_retention_setting():
    kept = [_call_log(1), _call_log(29.9)]
    for _ in range(3):
        _call_log(31)
    out = StringIO()
    call_command("prune_api_calls", stdout=out)
    assert "Deleted 3 API call log row(s) older than 30 days" in out.getvalue()
    assert set(ApiCallLog.objects.all()) == set(kept)


@pytest.mark.django_db
def test_it_prunes_with_the_days_option():
    recent, old = _call_log(2), _call_log(6)
    call_command("prune_api_calls", "--days", "5", stdout=StringIO())
    assert list(ApiCallLog.objects.all()) == [recent]
    assert not ApiCallLog.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_it_refuses_a_retention_below_one_day():
    with pytest.raises(CommandError):
        call_command("prune_api_calls", "--days", "0")
