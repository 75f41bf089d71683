"""Tokens of a client: load them, refresh them, use them (a client mixin).

A client holds its tokens in memory. With `account=` it loads them from
the account's encrypted Credential and refreshes through
`platforms.tokens.refresh_with_lock`, so concurrent workers refresh once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from platforms.exceptions import PlatformAuthError, PlatformError
from platforms.tokens import refresh_with_lock

if TYPE_CHECKING:
    from platforms.models import ConnectedAccount


def token_digest(token: str) -> str:
    """A short fingerprint to compare tokens without keeping copies around."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class TokenHolder:
    """Access and refresh tokens of one client; mixed into the base client."""

    account: ConnectedAccount | None
    _access_token: str | None
    _refresh_token: str | None
    _access_expires_at: datetime | None
    _credential_loaded: bool
    _refresh_lock: threading.Lock

    if TYPE_CHECKING:  # provided by BasePlatformClient and RequestPipeline

        def error(
            self, kind: type[PlatformError], message: str, **kwargs: Any
        ) -> PlatformError: ...
        def request_token_refresh(self, refresh_token: str) -> Mapping[str, Any]: ...

    def can_refresh(self) -> bool:
        self._load_credential()
        return bool(self.refresh_grant(self._access_token, self._refresh_token))

    def refresh_grant(self, access_token: str | None, refresh_token: str | None) -> str:
        """The token a refresh is made with (Graph renews with the access token)."""
        return refresh_token or ""

    def refresh_now(self, *, rejected: str | None = None) -> dict[str, Any]:
        """Refresh the access token (once across workers for a stored account).

        `rejected` is the `token_digest` of the token the platform refused.
        Threads sharing this client refresh once: a thread that finds the
        token already replaced since its request was refused does nothing.
        """
        with self._refresh_lock:
            self._load_credential()
            current = self._access_token
            if rejected is None or current is None or token_digest(current) == rejected:
                self._refresh(current)
        return {
            "access_token": self._access_token,
            "refresh_token": self._refresh_token,
            "access_expires_at": self._access_expires_at,
        }

    def _refresh(self, stale: str | None) -> None:
        if self.account is not None:
            credential = refresh_with_lock(
                self.account,
                stale_access_token=stale,
                refresh=lambda cred: self.request_token_refresh(
                    self.refresh_grant(cred.access_token, cred.refresh_token)
                ),
            )
            self._use_credential(credential)
            return
        grant = self.refresh_grant(self._access_token, self._refresh_token)
        if not grant:
            raise self.error(PlatformAuthError, "no refresh token to refresh with")
        self._use_reply(self.request_token_refresh(grant))

    def _use_reply(self, reply: Mapping[str, Any]) -> None:
        from platforms.metrics import to_int

        self._access_token = str(reply["access_token"])
        if reply.get("refresh_token"):
            self._refresh_token = str(reply["refresh_token"])
        if reply.get("expires_in") not in (None, ""):
            seconds = to_int(reply["expires_in"], field="expires_in")
            self._access_expires_at = datetime.now(UTC) + timedelta(seconds=seconds)
        else:
            self._access_expires_at = None

    def _use_credential(self, credential: Any) -> None:
        self._access_token = credential.access_token or None
        self._refresh_token = credential.refresh_token or None
        self._access_expires_at = credential.access_expires_at

    def _load_credential(self) -> None:
        if self._credential_loaded:
            return
        from platforms.models import Credential

        credential = Credential.objects.filter(account=self.account).first()
        if credential is not None:
            self._use_credential(credential)
        self._credential_loaded = True

    def _check_account_usable(self) -> None:
        from platforms.models import ConnectedAccount

        if self.account is None:
            return
        if self.account.status == ConnectedAccount.Status.RECONNECT_NEEDED:
            raise self.error(
                PlatformAuthError,
                f"account needs reconnecting: {self.account.status_reason}",
                code="reconnect_needed",
            )

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}
