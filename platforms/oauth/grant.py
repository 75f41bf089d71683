"""The token reply of one completed OAuth flow, kept off the database.

`SOCIALACCOUNT_STORE_TOKENS` is off, so allauth's plaintext `SocialToken`
table stays empty: the tokens travel from the callback to the connect service
on the in-memory `SocialLogin` only, and are stored encrypted in
`platforms.Credential`. `SocialLogin.serialize()` (used when allauth stashes a
login in the session) does not know the attribute, so tokens never reach the
session either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from allauth.socialaccount.models import SocialLogin
from django.utils import timezone

_ATTRIBUTE = "socialmetrics_grant"


@dataclass(frozen=True)
class OAuthGrant:
    """Tokens and lifetimes a platform's token endpoint returned."""

    access_token: str = field(repr=False)
    refresh_token: str = field(default="", repr=False)
    token_type: str = "Bearer"
    # Seconds, as the platform said; None when it did not say.
    expires_in: int | None = None
    refresh_expires_in: int | None = None
    # None when the reply does not list the granted scopes (Facebook).
    scopes: tuple[str, ...] | None = None
    received_at: dt.datetime = field(default_factory=timezone.now)

    @classmethod
    def from_token_response(cls, data: Mapping[str, Any]) -> OAuthGrant:
        """Read a token endpoint reply (TikTok, Google and Graph share keys).

        TikTok separates scopes with commas, Google with spaces.
        """
        scope = data.get("scope")
        scopes = None
        if isinstance(scope, str):
            scopes = tuple(part for part in scope.replace(",", " ").split() if part)
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token") or ""),
            token_type=str(data.get("token_type") or "Bearer"),
            expires_in=_seconds(data.get("expires_in")),
            refresh_expires_in=_seconds(data.get("refresh_expires_in")),
            scopes=scopes,
        )

    @property
    def access_expires_at(self) -> dt.datetime | None:
        return _after(self.received_at, self.expires_in)

    @property
    def refresh_expires_at(self) -> dt.datetime | None:
        return _after(self.received_at, self.refresh_expires_in)

    def exchanged(self, data: Mapping[str, Any]) -> OAuthGrant:
        """This grant with the access token replaced by an exchanged one."""
        return replace(
            self,
            access_token=str(data["access_token"]),
            token_type=str(data.get("token_type") or self.token_type),
            expires_in=_seconds(data.get("expires_in")),
            received_at=timezone.now(),
        )


def attach_grant(sociallogin: SocialLogin, grant: OAuthGrant) -> SocialLogin:
    setattr(sociallogin, _ATTRIBUTE, grant)
    return sociallogin


def grant_of(sociallogin: SocialLogin) -> OAuthGrant | None:
    return getattr(sociallogin, _ATTRIBUTE, None)


def _seconds(value: Any) -> int | None:
    # Graph sometimes omits expires_in; TikTok and Google send integers, but a
    # string or an empty value must not become a guessed lifetime.
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _after(start: dt.datetime, seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else start + dt.timedelta(seconds=seconds)
