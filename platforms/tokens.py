"""Stored OAuth tokens: save a token reply atomically, refresh it once.

Concurrent workers that all find an account's token expired must refresh it
once: TikTok rotates refresh tokens, so a second refresh with the old one
would fail and lock the account out. `refresh_with_lock` does it with a
short *lease* on the Credential instead of a lock held across the HTTP call
(which, with retries, can take a minute, longer than SQLite's busy timeout
for every other writer):

1. claim: one conditional UPDATE sets `refreshing_until`/`refresh_lease`
   where no live lease exists; exactly one worker wins;
2. the winner refreshes over HTTP outside any transaction, then saves the
   reply in one UPDATE, only if nobody saved a refresh meanwhile
   (`last_refreshed_at` unchanged), and clears the lease;
3. the others poll (short reads, with a deadline) until the lease is gone,
   then re-read and use the new token. A lease whose holder died expires
   after `REFRESH_LEASE_SECONDS` and may be claimed again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q

from platforms.exceptions import (
    PlatformAuthError,
    PlatformRateLimitError,
    error_class_for,
)
from platforms.metrics import to_int

if TYPE_CHECKING:
    from platforms.models import ConnectedAccount, Credential

logger = logging.getLogger("platforms.tokens")

#: Refresh this long before the access token lapses.
REFRESH_LEEWAY_SECONDS = 300
#: How long a refresh lease lasts: longer than one refresh with its retries.
REFRESH_LEASE_SECONDS = 90
#: How often a waiting worker looks whether the lease holder is done.
LEASE_POLL_SECONDS = 0.1


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


def _usable(credential: Credential, stale_access_token: str | None) -> bool:
    """Another worker already replaced the stale token with a live one."""
    fresh = credential.access_token and credential.access_token != stale_access_token
    return bool(fresh) and not credential.access_expired(
        leeway_seconds=REFRESH_LEEWAY_SECONDS
    )


def _claim_lease(credential: Credential) -> str | None:
    from platforms.models import Credential

    now = datetime.now(UTC)
    lease = uuid.uuid4().hex
    claimed = (
        Credential.objects.filter(pk=credential.pk)
        .filter(Q(refreshing_until__isnull=True) | Q(refreshing_until__lte=now))
        .update(
            refreshing_until=now + timedelta(seconds=REFRESH_LEASE_SECONDS),
            refresh_lease=lease,
        )
    )
    return lease if claimed else None


def _release_lease(credential: Credential, lease: str) -> None:
    from platforms.models import Credential

    Credential.objects.filter(pk=credential.pk, refresh_lease=lease).update(
        refreshing_until=None, refresh_lease=""
    )


def _save_refreshed(
    credential: Credential, reply: Mapping[str, Any], lease: str
) -> Credential:
    """Save the reply unless someone else saved a refresh since we read."""
    from platforms.models import Credential

    seen = credential.last_refreshed_at
    with transaction.atomic():
        current = Credential.objects.select_for_update().get(pk=credential.pk)
        if current.last_refreshed_at != seen:
            # A reconnect (or a worker whose lease we outlived) saved newer
            # tokens meanwhile: theirs win.
            _release_lease(current, lease)
            return current
        current.refreshing_until = None
        current.refresh_lease = ""
        return apply_token_reply(current, reply)


def refresh_with_lock(
    account: ConnectedAccount,
    *,
    stale_access_token: str | None,
    refresh: Callable[[Credential], Mapping[str, Any]],
    wait_seconds: float = REFRESH_LEASE_SECONDS + 10,
    sleep: Callable[[float], None] = time.sleep,
) -> Credential:
    """Refresh the account's token once, however many workers ask at once.

    `stale_access_token` is the token the caller found expired or rejected.
    If the stored token already differs from it and is not about to
    expire, another worker refreshed: that token is returned and
    `refresh(credential)` is not called. Otherwise one worker holds the
    lease and refreshes while the others wait for it (at most
    `wait_seconds`). A permanent auth error (`invalid_grant`, Graph code
    190) marks the account "reconnect needed" and is re-raised.
    """
    from platforms.models import Credential

    deadline = time.monotonic() + wait_seconds
    while True:
        credential = Credential.objects.get(account=account)
        if _usable(credential, stale_access_token):
            return credential
        lease = _claim_lease(credential)
        if lease is not None:
            break
        if time.monotonic() > deadline:
            # Not the token's fault: try again later (the run is re-queued).
            raise error_class_for(account.platform, PlatformRateLimitError)(
                "another worker is still refreshing this account's token",
                reason="refresh_in_progress",
                permanent=False,
                retry_after=float(REFRESH_LEASE_SECONDS),
            )
        sleep(LEASE_POLL_SECONDS)
    try:
        # The holder before us may have saved just before we claimed.
        credential.refresh_from_db()
        if _usable(credential, stale_access_token):
            _release_lease(credential, lease)
            return credential
        reply = refresh(credential)
    except PlatformAuthError as error:
        _release_lease(credential, lease)
        if not error.permanent:
            raise
        reason = f"token refresh refused: {error.code or error.reason or error}"
        mark_reconnect_needed(account, reason)
        raise
    except BaseException:
        _release_lease(credential, lease)
        raise
    return _save_refreshed(credential, reply, lease)
