"""The Connections page: connect, reconnect and disconnect platform accounts.

Connecting itself runs through allauth (`/accounts/<provider>/login/` with
`process=connect`, see `platforms.oauth`); these views list what is
connected and disconnect.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from platforms.models import CollectionRun, ConnectedAccount, Credential, Platform
from platforms.oauth import PLATFORM_PROVIDERS
from platforms.services.connections import connection_disconnect

EXPIRY_WARNING = dt.timedelta(days=7)
RECENT_RUNS = 10


@dataclass(frozen=True)
class ConnectOption:
    platform: str
    label: str
    url: str


@dataclass(frozen=True)
class AccountRow:
    account: ConnectedAccount
    connect_url: str
    # When the stored tokens stop working without a reconnect, if soon.
    expires_at: dt.datetime | None
    expired: bool


def _connect_options(request: HttpRequest) -> dict[str, ConnectOption]:
    """The platforms a creator can connect here (enabled, with credentials)."""
    adapter = get_adapter(request)
    options = {}
    for platform, provider_id in PLATFORM_PROVIDERS.items():
        try:
            provider = adapter.get_provider(request, provider_id)
        except (SocialApp.DoesNotExist, ImproperlyConfigured):
            continue  # platforms.W001 tells the admin why
        options[platform] = ConnectOption(
            platform=platform,
            label=Platform(platform).label,
            url=provider.get_login_url(request, process="connect"),
        )
    return options


def _expiry(credential: Credential | None, now: dt.datetime) -> dt.datetime | None:
    """When a reconnect becomes necessary, if that is within the warning window.

    With a refresh token the access token renews itself, so only the refresh
    token's expiry matters; without one (Instagram) the access token's does.
    """
    if credential is None:
        return None
    ends = (
        credential.refresh_expires_at
        if credential.refresh_token
        else credential.access_expires_at
    )
    if ends is None or ends - now > EXPIRY_WARNING:
        return None
    return ends


def _account_rows(
    request: HttpRequest, options: dict[str, ConnectOption]
) -> list[AccountRow]:
    now = timezone.now()
    accounts = ConnectedAccount.objects.filter(owner=request.user).select_related(
        "credential"
    )
    rows = []
    for account in accounts:
        try:
            credential = account.credential
        except Credential.DoesNotExist:
            credential = None
        expires_at = (
            _expiry(credential, now)
            if account.status != ConnectedAccount.Status.DISCONNECTED
            else None
        )
        option = options.get(account.platform)
        rows.append(
            AccountRow(
                account=account,
                connect_url=option.url if option else "",
                expires_at=expires_at,
                expired=expires_at is not None and expires_at <= now,
            )
        )
    return rows


@login_required
@require_GET
def connections(request: HttpRequest) -> HttpResponse:
    options = _connect_options(request)
    return render(
        request,
        "dashboard/connections.html",
        {
            "connect_options": list(options.values()),
            "rows": _account_rows(request, options),
            **_runs_context(request),
        },
    )


def _runs_context(request: HttpRequest) -> dict:
    runs = list(
        CollectionRun.objects.filter(account__owner=request.user)
        .select_related("account")
        .order_by("-queued_at")[:RECENT_RUNS]
    )
    active = any(run.status in CollectionRun.ACTIVE_STATUSES for run in runs)
    return {"runs": runs, "active_runs": active}


@login_required
@require_GET
def connection_runs(request: HttpRequest) -> HttpResponse:
    """The runs table alone, for the page's progress polling."""
    return render(request, "dashboard/partials/runs.html", _runs_context(request))


@login_required
@require_POST
def disconnect(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(ConnectedAccount, pk=account_id, owner=request.user)
    connection_disconnect(account=account)
    messages.success(
        request,
        f"Disconnected {account}. Its tokens were deleted; its history is kept.",
    )
    return redirect("dashboard:connections")
