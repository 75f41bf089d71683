"""The admin: every page loads for a superuser, and no page shows a token."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from allauth.socialaccount.models import SocialApp, SocialToken
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from dashboard.models import CreatorProfile
from platforms.models import (
    ApiCallLog,
    CollectionRun,
    ContentItem,
    Credential,
    DailyMetric,
    Distribution,
    ErrorLog,
    MetricSnapshot,
    QuotaUsage,
    RateLimitBucket,
)

ACCESS = "ya29.ADMIN-PAGE-ACCESS-SECRET-0123456789"
REFRESH = "1//ADMIN-PAGE-REFRESH-SECRET-0123456789"


@pytest.fixture
def rows(youtube_account):
    """One row of every model of the project's apps, plus a django-q schedule."""
    now = timezone.now()
    CreatorProfile.objects.create(user=youtube_account.owner, time_zone="Europe/Berlin")
    credential = Credential.objects.create(
        account=youtube_account,
        access_token=ACCESS,
        refresh_token=REFRESH,
        access_expires_at=now + dt.timedelta(hours=1),
        scopes=["https://www.googleapis.com/auth/youtube.readonly"],
    )
    item = ContentItem.objects.create(
        account=youtube_account,
        platform_item_id="vid-1",
        kind=ContentItem.Kind.VIDEO,
        title="Ünïcödé title 🎬",
        published_at=now,
    )
    common = dict(account=youtube_account, source="youtube.videos", fetched_at=now)
    MetricSnapshot.objects.create(**common, item=item, metric="views", value_int=42)
    DailyMetric.objects.create(**common, metric="views", day=now.date(), value_int=7)
    Distribution.objects.create(
        **common, kind="country", day=now.date(), data=[{"key": "DE", "value": 1}]
    )
    QuotaUsage.objects.create(
        platform="youtube",
        project="default",
        day=now.date(),
        units_used=7340,
        limit=10000,
        resets_at=now + dt.timedelta(hours=5),
    )
    RateLimitBucket.objects.create(
        key="tiktok:video.list",
        platform="tiktok",
        endpoint_class="video.list",
        limit=600,
        window_seconds=60,
        tat=now.timestamp() + 6,
        blocked_until=now + dt.timedelta(minutes=1),
    )
    ApiCallLog.objects.create(
        platform="youtube",
        endpoint="youtube.videos",
        method="GET",
        status_code=200,
        account=youtube_account,
    )
    error = ErrorLog.objects.create(
        platform="youtube",
        error_class="quota",
        message="quotaExceeded",
        account=youtube_account,
        context={"url": f"https://x.test/?access_token={ACCESS}"},
    )
    CollectionRun.objects.create(
        account=youtube_account, kind="manual", progress_done=3, progress_total=4
    )
    Schedule.objects.create(name="demo", func="math.floor", args="1")
    return {"credential": credential, "error": error}


@pytest.fixture
def admin_client(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


def _raw_ciphertexts() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM platforms_credential")
        return [value for row in cursor.fetchall() for value in row]


def project_models() -> set:
    """Every model of the apps that live in this repository (not third-party)."""
    configs = [
        config
        for config in apps.get_app_configs()
        if "site-packages" not in Path(config.path).parts
    ]
    assert {"platforms", "dashboard"} <= {c.label for c in configs}
    return {model for config in configs for model in config.get_models()}


def test_it_loads_every_admin_page_without_showing_tokens(
    rows, admin_client, staff_user
):
    secrets = [ACCESS, REFRESH, "ADMIN-PAGE", *_raw_ciphertexts()]
    request = RequestFactory().get("/admin/")
    request.user = staff_user
    pages = 0
    changed = set()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        urls = [reverse(f"{prefix}_changelist")]
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{prefix}_add"))
        obj = model.objects.first()
        if obj is not None:
            changed.add(model)
            urls.append(reverse(f"{prefix}_change", args=[obj.pk]))
            urls.append(reverse(f"{prefix}_history", args=[obj.pk]))
            if model_admin.has_delete_permission(request):
                urls.append(reverse(f"{prefix}_delete", args=[obj.pk]))
        for url in urls:
            response = admin_client.get(url)
            assert response.status_code == 200, url
            html = response.content.decode()
            for secret in secrets:
                assert secret not in html, f"{url} shows a token"
            pages += 1
    # Every project model had a row, so its change page was rendered too.
    assert project_models() - changed == set()
    assert pages >= 50  # every project model, auth, allauth and django-q


def test_it_shows_quota_used_of_limit_and_percent(rows, admin_client):
    html = admin_client.get(reverse("admin:platforms_quotausage_changelist")).content
    assert "7,340 / 10,000" in html.decode()
    assert "73.4 %" in html.decode()


def test_it_shows_rate_limit_usage_against_the_limit(rows, admin_client, time_machine):
    time_machine.move_to(dt.datetime.now(dt.UTC), tick=False)
    # 600 per 60 s is one request per 0.1 s: a tat 6 s ahead means 60 taken.
    RateLimitBucket.objects.update(tat=time.time() + 6)
    url = reverse("admin:platforms_ratelimitbucket_changelist")

    full = admin_client.get(url).content.decode()
    time_machine.shift(2.95)  # 30.5 slots still taken: a partly drained one counts
    drained = admin_client.get(url).content.decode()

    assert "60 / 600 per 60 s" in full
    assert "31 / 600 per 60 s" in drained


def test_it_marks_errors_resolved_from_the_changelist(rows, admin_client):
    error = rows["error"]
    response = admin_client.post(
        reverse("admin:platforms_errorlog_changelist"),
        {"action": "mark_resolved", "_selected_action": [error.pk]},
    )
    assert response.status_code == 302
    error.refresh_from_db()
    assert error.resolved
    assert error.resolved_at is not None


def test_it_redacts_tokens_in_error_context(rows, admin_client):
    url = reverse("admin:platforms_errorlog_change", args=[rows["error"].pk])
    html = admin_client.get(url).content.decode()
    assert "access_token=[REDACTED]" in html


@pytest.mark.parametrize(
    "model",
    [ApiCallLog, ContentItem, CollectionRun, ErrorLog, MetricSnapshot],
)
def test_it_lists_rows_with_a_constant_number_of_queries(
    model, rows, admin_client, youtube_account
):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    _add_rows(model, youtube_account, count=5)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get(url).status_code == 200
    assert len(many) == len(few)


def _add_rows(model, account, count: int) -> None:
    now = timezone.now()
    for n in range(count):
        if model is ApiCallLog:
            ApiCallLog.objects.create(
                platform="youtube", endpoint="e", method="GET", account=account
            )
        elif model is ContentItem:
            ContentItem.objects.create(
                account=account, platform_item_id=f"x{n}", kind="video"
            )
        elif model is CollectionRun:
            CollectionRun.objects.create(
                account=account, kind="manual", status="failed"
            )
        elif model is ErrorLog:
            ErrorLog.objects.create(
                platform="youtube", error_class="api", message="m", account=account
            )
        else:
            item = ContentItem.objects.create(
                account=account, platform_item_id=f"m{n}", kind="video"
            )
            MetricSnapshot.objects.create(
                account=account,
                item=item,
                metric="views",
                value_int=n,
                source="s",
                fetched_at=now,
            )


def test_it_registers_every_model_of_every_project_app():
    assert project_models() - set(admin.site._registry) == set()


def test_allauth_token_and_app_pages_are_gone(admin_client):
    """Tokens are only in the encrypted store; apps only in settings."""
    for model in (SocialToken, SocialApp):
        assert not admin.site.is_registered(model)
    assert admin_client.get("/admin/socialaccount/socialtoken/").status_code == 404
    index = admin_client.get("/admin/").content.decode()
    assert "/admin/socialaccount/socialaccount/" in index  # who connected what
    assert "socialtoken" not in index and "socialapp" not in index


def test_it_lists_and_searches_creator_profiles(rows, admin_client, youtube_account):
    url = reverse("admin:dashboard_creatorprofile_changelist")
    profile = CreatorProfile.objects.get(user=youtube_account.owner)
    row = reverse("admin:dashboard_creatorprofile_change", args=[profile.pk])

    found = admin_client.get(url, {"q": youtube_account.owner.email}).content.decode()
    missed = admin_client.get(url, {"q": "nobody@example.org"}).content.decode()

    assert row in found
    assert '<td class="field-email">creator@example.com</td>' in found
    assert '<td class="field-time_zone">Europe/Berlin</td>' in found
    assert row not in missed
