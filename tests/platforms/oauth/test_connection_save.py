"""Saving a completed connect: accounts, encrypted tokens, the first backfill."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from platforms.models import CollectionRun, ConnectedAccount, Credential, Platform
from platforms.oauth.discovery import DiscoveredAccount
from platforms.oauth.grant import OAuthGrant
from platforms.services.connections import connection_save

YOUTUBE_SCOPES = (
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/yt-analytics.readonly",
)
CHANNEL = DiscoveredAccount(
    platform_user_id="UC_example_channel_0001", handle="@example", display_name="Ex"
)


def _grant(**overrides):
    reply = {
        "access_token": "ya29.access-1",
        "refresh_token": "1//refresh-1",
        "expires_in": 3599,
        "scope": " ".join(YOUTUBE_SCOPES),
        "token_type": "Bearer",
    }
    return OAuthGrant.from_token_response(reply | overrides)


def _save(creator, grant, django_capture_on_commit_callbacks, found=(CHANNEL,)):
    with django_capture_on_commit_callbacks(execute=True):
        return connection_save(
            owner=creator, platform=Platform.YOUTUBE, grant=grant, found=found
        )


def test_it_creates_the_account_with_encrypted_tokens_and_queues_a_backfill(
    creator, task_queue, django_capture_on_commit_callbacks
):
    [saved] = _save(creator, _grant(), django_capture_on_commit_callbacks)
    account = saved.account
    assert saved.created
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.handle == "@example"
    credential = Credential.objects.get(account=account)
    assert credential.access_token == "ya29.access-1"
    assert credential.refresh_token == "1//refresh-1"
    assert credential.refresh_expires_at is None
    assert credential.access_expires_at > timezone.now() + dt.timedelta(minutes=59)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM platforms_credential"
            " WHERE id = %s",
            [credential.pk],
        )
        stored = cursor.fetchone()
    assert "ya29.access-1" not in stored[0] and "1//refresh-1" not in stored[1]
    run = CollectionRun.objects.get(account=account)
    assert (run.kind, run.status) == ("backfill", "queued")
    [task] = task_queue.tasks()
    assert task["func"] == "platforms.tasks.run_collection"
    assert task["args"] == (run.pk,)
    assert run.task_id == task["id"]


def test_it_marks_the_account_reconnect_needed_without_a_refresh_token(
    creator, task_queue, django_capture_on_commit_callbacks
):
    [saved] = _save(
        creator, _grant(refresh_token=""), django_capture_on_commit_callbacks
    )
    assert saved.account.status == ConnectedAccount.Status.RECONNECT_NEEDED
    assert "did not send a refresh token" in saved.account.status_reason
    assert saved.backfill is None
    assert task_queue.tasks() == []


def test_it_marks_the_account_reconnect_needed_when_a_scope_was_unticked(
    creator, django_capture_on_commit_callbacks
):
    [saved] = _save(
        creator, _grant(scope=YOUTUBE_SCOPES[0]), django_capture_on_commit_callbacks
    )
    assert saved.account.status == ConnectedAccount.Status.RECONNECT_NEEDED
    assert "yt-analytics.readonly" in saved.account.status_reason


def test_it_reconnects_keeping_the_refresh_token_google_left_out(
    creator, task_queue, django_capture_on_commit_callbacks
):
    [first] = _save(creator, _grant(), django_capture_on_commit_callbacks)
    account = first.account
    account.status = ConnectedAccount.Status.RECONNECT_NEEDED
    account.status_reason = "Token revoked."
    account.save()
    [again] = _save(
        creator,
        _grant(access_token="ya29.access-2", refresh_token=""),
        django_capture_on_commit_callbacks,
    )
    assert not again.created and again.account.pk == account.pk
    assert again.account.status == ConnectedAccount.Status.ACTIVE
    assert again.account.status_reason == ""
    credential = Credential.objects.get(account=account)
    assert credential.access_token == "ya29.access-2"
    assert credential.refresh_token == "1//refresh-1"
    # The first backfill is still queued: no second one on top of it.
    assert again.backfill is None
    assert CollectionRun.objects.filter(account=account).count() == 1
    assert len(task_queue.tasks()) == 1


def test_it_queues_no_backfill_once_one_has_succeeded(
    creator, django_capture_on_commit_callbacks
):
    [first] = _save(creator, _grant(), django_capture_on_commit_callbacks)
    CollectionRun.objects.update(status=CollectionRun.Status.SUCCEEDED)
    [again] = _save(creator, _grant(), django_capture_on_commit_callbacks)
    assert again.backfill is None


def test_it_keeps_a_quota_pause_through_a_reconnect(
    creator, django_capture_on_commit_callbacks
):
    [first] = _save(creator, _grant(), django_capture_on_commit_callbacks)
    until = timezone.now() + dt.timedelta(hours=5)
    ConnectedAccount.objects.filter(pk=first.account.pk).update(
        status=ConnectedAccount.Status.PAUSED, paused_until=until
    )
    [again] = _save(creator, _grant(), django_capture_on_commit_callbacks)
    assert again.account.status == ConnectedAccount.Status.PAUSED
    assert again.account.paused_until == until


def test_it_saves_every_account_one_grant_reaches(
    creator, django_capture_on_commit_callbacks
):
    found = [
        DiscoveredAccount(platform_user_id=f"1784{n}", page_id=f"page-{n}")
        for n in range(2)
    ]
    saved = _save(creator, _grant(), django_capture_on_commit_callbacks, found=found)
    assert [s.account.page_id for s in saved] == ["page-0", "page-1"]
    assert CollectionRun.objects.count() == 2


def test_it_stores_no_expiry_the_platform_did_not_give(
    creator, django_capture_on_commit_callbacks
):
    reply = {"access_token": "EAAG.long", "token_type": "bearer"}
    with django_capture_on_commit_callbacks(execute=True):
        [saved] = connection_save(
            owner=creator,
            platform=Platform.INSTAGRAM,
            grant=OAuthGrant.from_token_response(reply),
            found=[DiscoveredAccount(platform_user_id="17841", page_id="p1")],
        )
    credential = Credential.objects.get(account=saved.account)
    assert credential.access_expires_at is None
    assert credential.refresh_expires_at is None
    assert credential.token_type == "Bearer"
    assert saved.account.status == ConnectedAccount.Status.ACTIVE
