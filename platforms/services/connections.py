"""Writes for connected accounts: save a completed connect, disconnect.

The OAuth side (allauth, discovery of the platform accounts) lives in
`platforms.oauth`; this module only turns its result into rows:
`ConnectedAccount` + encrypted `Credential`, and the first backfill
`CollectionRun`, queued on django-q2 (`platforms.services.collection`) once
the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from platforms.models import CollectionRun, ConnectedAccount, Credential, Platform
from platforms.oauth.discovery import DiscoveredAccount
from platforms.oauth.grant import OAuthGrant
from platforms.services.collection import run_enqueue
from platforms.tokens import save_token_reply

# Platforms whose access token is short-lived (TikTok 24 h or less, Google
# 1 h): without a refresh token collection stops within a day. Instagram's
# long-lived token cannot be refreshed; it lasts ~60 days, then reconnect.
NEEDS_REFRESH_TOKEN = frozenset({Platform.TIKTOK, Platform.YOUTUBE})

# Scopes collection cannot work without. Checked only when the token reply
# lists the granted scopes (TikTok and Google do; Facebook does not), since
# both platforms let a creator untick single permissions on the consent page.
REQUIRED_SCOPES: dict[str, tuple[str, ...]] = {
    Platform.TIKTOK: ("user.info.basic", "video.list"),
    Platform.YOUTUBE: (
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/yt-analytics.readonly",
    ),
}


@dataclass(frozen=True)
class SavedAccount:
    """One account a connect created or updated."""

    account: ConnectedAccount
    created: bool
    backfill: CollectionRun | None


def connection_save(
    *,
    owner: AbstractBaseUser,
    platform: str,
    grant: OAuthGrant,
    found: Iterable[DiscoveredAccount],
    social_account: SocialAccount | None = None,
) -> list[SavedAccount]:
    """Create or update the owner's accounts that `grant` gives access to.

    Connecting an account again (a reconnect) updates its profile and tokens
    and makes it active; a flow without the refresh token or the scopes
    collection needs leaves it "reconnect needed", with the reason.
    """
    saved = []
    with transaction.atomic():
        for item in found:
            saved.append(
                _save_one(
                    owner=owner,
                    platform=platform,
                    grant=grant,
                    item=item,
                    social_account=social_account,
                )
            )
    return saved


def connection_disconnect(*, account: ConnectedAccount) -> None:
    """Stop collecting `account`: delete its tokens, keep its history."""
    now = timezone.now()
    with transaction.atomic():
        Credential.objects.filter(account=account).delete()
        account.status = ConnectedAccount.Status.DISCONNECTED
        account.status_reason = (
            f"Disconnected on {now:%Y-%m-%d}. Its history is kept; connect it "
            "again to resume collection."
        )
        account.next_collection_at = None
        account.save(update_fields=["status", "status_reason", "next_collection_at"])
        # A run that has not started yet would only fail for lack of tokens.
        account.runs.filter(status=CollectionRun.Status.QUEUED).update(
            status=CollectionRun.Status.FAILED,
            finished_at=now,
            error_summary="Cancelled: the account was disconnected.",
        )


def _save_one(
    *,
    owner: AbstractBaseUser,
    platform: str,
    grant: OAuthGrant,
    item: DiscoveredAccount,
    social_account: SocialAccount | None,
) -> SavedAccount:
    account, created = ConnectedAccount.objects.select_for_update().get_or_create(
        owner=owner, platform=platform, platform_user_id=item.platform_user_id
    )
    account.union_id = item.union_id or account.union_id
    account.page_id = item.page_id or account.page_id
    account.handle = item.handle or account.handle
    account.display_name = item.display_name or account.display_name
    account.avatar_url = item.avatar_url or account.avatar_url
    account.account_type = item.account_type or account.account_type
    if social_account is not None:
        account.social_account = social_account

    # Keeps the stored refresh token when the reply has none: Google leaves
    # it out of a repeated grant, and the one it issued before keeps working.
    credential = save_token_reply(account, grant.reply)

    problem = _credential_problem(platform, credential, grant)
    if problem:
        account.status = ConnectedAccount.Status.RECONNECT_NEEDED
        account.status_reason = problem
    elif not _paused_now(account):
        account.status = ConnectedAccount.Status.ACTIVE
        account.status_reason = ""
        account.paused_until = None
    account.save()

    backfill = None
    if account.status == ConnectedAccount.Status.ACTIVE and _needs_backfill(account):
        # Queued on django-q2 once the connect commits.
        backfill = run_enqueue(account=account, kind=CollectionRun.Kind.BACKFILL)
    return SavedAccount(account=account, created=created, backfill=backfill)


def _credential_problem(
    platform: str, credential: Credential, grant: OAuthGrant
) -> str:
    """Why these tokens cannot keep collection going, or "" when they can."""
    name = Platform(platform).label
    if platform in NEEDS_REFRESH_TOKEN and not credential.refresh_token:
        return (
            f"{name} did not send a refresh token, so collection would stop "
            "within the hour. Reconnect the account and approve the consent "
            "screen again."
        )
    missing = [
        scope
        for scope in REQUIRED_SCOPES.get(platform, ())
        if grant.scopes is not None and scope not in grant.scopes
    ]
    if missing:
        return (
            f"{name} did not grant {', '.join(missing)}. Reconnect the account "
            "and leave every requested permission ticked."
        )
    return ""


def _paused_now(account: ConnectedAccount) -> bool:
    # A quota pause is not about the tokens: a reconnect does not lift it.
    return (
        account.status == ConnectedAccount.Status.PAUSED
        and account.paused_until is not None
        and account.paused_until > timezone.now()
    )


def _needs_backfill(account: ConnectedAccount) -> bool:
    """A backfill has not succeeded yet, and no run is waiting or running."""
    runs = account.runs.all()
    if runs.filter(status__in=CollectionRun.ACTIVE_STATUSES).exists():
        return False
    return not runs.filter(
        kind=CollectionRun.Kind.BACKFILL, status=CollectionRun.Status.SUCCEEDED
    ).exists()
