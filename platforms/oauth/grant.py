"""The token reply of one completed OAuth flow, kept off the database.

`SOCIALACCOUNT_STORE_TOKENS` is off, so allauth's plaintext `SocialToken`
table stays empty: the reply travels from the callback to the connect service
on the in-memory `SocialLogin` only, and is stored encrypted in
`platforms.Credential` (by `platforms.tokens.save_token_reply`).
`SocialLogin.serialize()`, used when allauth stashes a login in the session,
does not know the attribute, so tokens never reach the session either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from allauth.socialaccount.models import SocialLogin

_ATTRIBUTE = "socialmetrics_grant"


@dataclass(frozen=True)
class OAuthGrant:
    """A platform token endpoint's reply (TikTok, Google and Graph share keys)."""

    reply: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_token_response(cls, data: Mapping[str, Any]) -> OAuthGrant:
        if not data.get("access_token"):
            raise ValueError("a token reply without access_token")
        return cls(reply=dict(data))

    @property
    def access_token(self) -> str:
        return str(self.reply["access_token"])

    @property
    def refresh_token(self) -> str:
        return str(self.reply.get("refresh_token") or "")

    @property
    def scopes(self) -> tuple[str, ...] | None:
        """The granted scopes, or None when the reply does not list them.

        TikTok separates them with commas, Google with spaces; Facebook's
        reply has no `scope` at all.
        """
        scope = self.reply.get("scope")
        if not isinstance(scope, str):
            return None
        return tuple(part for part in scope.replace(",", " ").split() if part)

    def exchanged(self, data: Mapping[str, Any]) -> OAuthGrant:
        """The grant an exchange (Graph's fb_exchange_token) replied with."""
        return OAuthGrant.from_token_response(data)


def attach_grant(sociallogin: SocialLogin, grant: OAuthGrant) -> SocialLogin:
    setattr(sociallogin, _ATTRIBUTE, grant)
    return sociallogin


def grant_of(sociallogin: SocialLogin) -> OAuthGrant | None:
    return getattr(sociallogin, _ATTRIBUTE, None)
