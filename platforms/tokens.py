"""Stored OAuth tokens: save a token reply atomically, refresh it once.

Concurrent workers that all find an account's token expired must refresh it
once: TikTok rotates refresh tokens, so a second refresh with the old one
would fail and lock the account out. `refresh_with_lock` takes a row lock
(`SELECT ... FOR UPDATE` on the Credential; on SQLite the IMMEDIATE
transaction serialises writers instead), re-reads, and refreshes only if
nobody else already did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction

from platforms.exceptions import PlatformAuthError
from platforms.metrics import to_int

if TYPE_CHECKING:
    from platforms.models import ConnectedAccount, Credential

logger = logging.getLogger("platforms.tokens")

#: Refresh this long before the access token lapses.
REFRESH_LEEWAY_SECONDS = 300


def _expiry(reply: Mapping[str, Any], field: str, now: datetime) -> datetime | None:
    if reply.get(field) in (None, ""):
        return None
    return now + timedelta(seconds=to_int(reply[field], field=field))


def apply_token_reply(
    credential: Credential, reply: Mapping[str, Any], *, now: datetime | None = None
) -> Credential:
    """Copy a token reply onto `credential` and save every field at once.

    A reply without `refresh_token` (Google refreshes, Graph exchanges)
    keeps the stored one; TikTok's rotated one replaces it, together with
    the new expiries, in one UPDATE.
    """
    now = now or datetime.now(UTC)
    credential.access_token = str(reply["access_token"])
    credential.access_expires_at = _expiry(reply, "expires_in", now)
    if reply.get("refresh_token"):
        credential.refresh_token = str(reply["refresh_token"])
        refresh_expiry = _expiry(reply, "refresh_expires_in", now)
        if refresh_expiry is not None:
            credential.refresh_expires_at = refresh_expiry
    if reply.get("token_type"):
        credential.token_type = str(reply["token_type"]).capitalize()
    scope = reply.get("scope")
    if isinstance(scope, str) and scope:
        separator = "," if "," in scope else " "
        credential.scopes = [s for s in scope.split(separator) if s]
    credential.last_refreshed_at = now
    credential.save()
    return credential


def save_token_reply(account: ConnectedAccount, reply: Mapping[str, Any]) -> Credential:
    """Create or update the account's Credential from a token reply."""
    from platforms.models import Credential

    with transaction.atomic():
        credential, _ = Credential.objects.select_for_update().get_or_create(
            account=account
        )
        return apply_token_reply(credential, reply)


def mark_reconnect_needed(account: ConnectedAccount, reason: str) -> None:
    """Stop collecting for this account until its owner connects it again."""
    from platforms.models import ConnectedAccount

    ConnectedAccount.objects.filter(pk=account.pk).update(
        status=ConnectedAccount.Status.RECONNECT_NEEDED, status_reason=reason[:2000]
    )
    account.status = ConnectedAccount.Status.RECONNECT_NEEDED
    account.status_reason = reason
    logger.warning("account %s needs reconnecting: %s", account.pk, reason)


def refresh_with_lock(
    account: ConnectedAccount,
    *,
    stale_access_token: str | None,
    refresh: Callable[[Credential], Mapping[str, Any]],
) -> Credential:
    """Refresh the account's token once, however many workers ask at once.

    `stale_access_token` is the token the caller found expired or rejected.
    Under the row lock, if the stored token already differs from it and is
    not about to expire, another worker refreshed: that token is returned
    and `refresh(credential)` is not called. A permanent auth error (`invalid_grant`,
    Graph code 190) marks the account "reconnect needed" and is re-raised.
    """
    from platforms.models import Credential

    failure: PlatformAuthError | None = None
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(account=account)
        fresh = credential.access_token and (
            credential.access_token != stale_access_token
        )
        if fresh and not credential.access_expired(
            leeway_seconds=REFRESH_LEEWAY_SECONDS
        ):
            return credential
        try:
            reply = refresh(credential)
        except PlatformAuthError as error:
            if not error.permanent:
                raise
            failure = error
        else:
            return apply_token_reply(credential, reply)
    reason = f"token refresh refused: {failure.code or failure.reason or failure}"
    mark_reconnect_needed(account, reason)
    raise failure
