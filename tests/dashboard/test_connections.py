"""The Connections page: list, warnings, progress, disconnect."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from platforms.models import (
    CollectionRun,
    ConnectedAccount,
    ContentItem,
    Credential,
    Platform,
)

URL = "/connections/"


@pytest.fixture
def logged_in(client, creator):
    client.force_login(creator)
    return client


@pytest.fixture
def credential(youtube_account):
    return Credential.objects.create(
        account=youtube_account,
        access_token="ya29.example-access",
        refresh_token="1//example-refresh",
        access_expires_at=timezone.now() + dt.timedelta(hours=1),
    )


def test_it_requires_login(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_offers_a_csrf_protected_connect_form_per_platform(logged_in):
    response = logged_in.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    for provider in ("tiktok", "google", "facebook"):
        form = re.search(
            rf'<form method="post" action="/accounts/{provider}/login/'
            r'\?process=connect">\s*<input type="hidden" name="csrfmiddlewaretoken"',
            html,
        )
        assert form, provider
    assert "Connect Instagram (via Facebook)" in html
    assert 'aria-current="page">Connections</a>' in html


def test_it_hides_a_platform_without_credentials(logged_in, settings):
    providers = {**settings.SOCIALACCOUNT_PROVIDERS}
    providers["tiktok"] = {**providers["tiktok"], "APPS": []}
    settings.SOCIALACCOUNT_PROVIDERS = providers
    html = logged_in.get(URL).content.decode()
    assert "/accounts/tiktok/login/" not in html
    assert "/accounts/google/login/" in html


def test_it_lists_only_the_creators_accounts_with_status_reason(
    logged_in, youtube_account, other_creator
):
    youtube_account.status = ConnectedAccount.Status.RECONNECT_NEEDED
    youtube_account.status_reason = "YouTube did not send a refresh token."
    youtube_account.save()
    ConnectedAccount.objects.create(
        owner=other_creator,
        platform=Platform.TIKTOK,
        platform_user_id="other-open-id",
        handle="@someone_else",
    )
    html = logged_in.get(URL).content.decode()
    assert "@example" in html
    assert "Reconnect needed" in html
    assert "YouTube did not send a refresh token." in html
    assert "@someone_else" not in html


def test_it_warns_when_the_refresh_token_expires_within_a_week(logged_in, credential):
    credential.refresh_expires_at = timezone.now() + dt.timedelta(days=3)
    credential.save()
    html = logged_in.get(URL).content.decode()
    assert "Access expires on" in html and "reconnect before then" in html


def test_it_ignores_a_short_lived_access_token_that_renews_itself(
    logged_in, credential
):
    credential.refresh_expires_at = timezone.now() + dt.timedelta(days=90)
    credential.save()
    html = logged_in.get(URL).content.decode()
    assert "Access expires on" not in html
    assert "Access expired on" not in html


def test_it_says_when_a_token_without_refresh_has_expired(logged_in, credential):
    credential.refresh_token = ""
    credential.access_expires_at = timezone.now() - dt.timedelta(days=1)
    credential.save()
    html = logged_in.get(URL).content.decode()
    assert "Access expired on" in html


def test_it_shows_run_progress_as_a_progress_element(logged_in, youtube_account):
    CollectionRun.objects.create(
        account=youtube_account,
        kind=CollectionRun.Kind.BACKFILL,
        status=CollectionRun.Status.RUNNING,
        progress_done=30,
        progress_total=120,
    )
    html = logged_in.get(URL).content.decode()
    assert re.search(r'<progress id="run-\d+" max="100" value="25"', html)
    assert "25% (30 of 120)" in html


def test_it_disconnects_deleting_tokens_and_keeping_history(
    logged_in, youtube_account, credential
):
    ContentItem.objects.create(
        account=youtube_account, platform_item_id="v1", kind=ContentItem.Kind.VIDEO
    )
    queued = CollectionRun.objects.create(
        account=youtube_account, kind=CollectionRun.Kind.BACKFILL
    )
    response = logged_in.post(f"/connections/{youtube_account.pk}/disconnect/")
    assert response.status_code == 302
    assert response["Location"] == URL
    youtube_account.refresh_from_db()
    queued.refresh_from_db()
    assert youtube_account.status == ConnectedAccount.Status.DISCONNECTED
    assert "history is kept" in youtube_account.status_reason
    assert not Credential.objects.filter(account=youtube_account).exists()
    assert youtube_account.items.count() == 1
    assert queued.status == CollectionRun.Status.FAILED
    html = logged_in.get(URL).content.decode()
    assert "Disconnected" in html
    assert f"/connections/{youtube_account.pk}/disconnect/" not in html


def test_it_lets_only_the_owner_disconnect(
    client, other_creator, youtube_account, credential
):
    client.force_login(other_creator)
    response = client.post(f"/connections/{youtube_account.pk}/disconnect/")
    assert response.status_code == 404
    youtube_account.refresh_from_db()
    assert youtube_account.status == ConnectedAccount.Status.ACTIVE
    assert Credential.objects.filter(account=youtube_account).exists()


def test_it_refuses_to_disconnect_on_get(logged_in, youtube_account):
    response = logged_in.get(f"/connections/{youtube_account.pk}/disconnect/")
    assert response.status_code == 405


def test_it_refuses_to_disconnect_without_csrf(creator, youtube_account, credential):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(creator)
    response = client.post(f"/connections/{youtube_account.pk}/disconnect/")
    assert response.status_code == 403
    assert Credential.objects.filter(account=youtube_account).exists()


def test_it_replaces_allauths_own_connections_page(logged_in):
    response = logged_in.get("/accounts/3rdparty/")
    assert response.status_code == 302
    assert response["Location"] == URL


def test_it_shows_a_queued_run_as_not_started(logged_in, youtube_account):
    CollectionRun.objects.create(account=youtube_account, kind="backfill")
    html = logged_in.get(URL).content.decode()
    assert '<progress max="100" value="0"' in html
    assert "Waiting for a worker" in html
