"""Turn a completed allauth "connect" login into connected accounts."""

from __future__ import annotations

from allauth.socialaccount.models import SocialLogin
from django.contrib.auth.base_user import AbstractBaseUser

from platforms.models import Platform
from platforms.oauth import PROVIDER_PLATFORMS, discovery
from platforms.oauth.discovery import ConnectError, DiscoveredAccount
from platforms.oauth.grant import OAuthGrant, grant_of
from platforms.services.connections import SavedAccount, connection_save

_SAVED_ATTRIBUTE = "socialmetrics_saved"


def connect_from_login(
    *, owner: AbstractBaseUser, sociallogin: SocialLogin
) -> list[SavedAccount]:
    """Discover the platform accounts the login reaches and save them.

    Raises `ConnectError` (nothing saved) when the platform does not give
    what collection needs: no YouTube channel, no Instagram professional
    account, a failed token exchange.
    """
    provider = sociallogin.account.provider
    platform = PROVIDER_PLATFORMS.get(provider)
    grant = grant_of(sociallogin)
    if platform is None or grant is None:
        raise ConnectError("This login cannot connect an account.")
    grant, found = _discover(platform, grant, sociallogin)
    # On a first connect the SocialAccount row does not exist yet; allauth
    # saves it after this and `link_social_account` fills the link in.
    existing = sociallogin.account if sociallogin.account.pk else None
    saved = connection_save(
        owner=owner,
        platform=platform,
        grant=grant,
        found=found,
        social_account=existing,
    )
    setattr(sociallogin, _SAVED_ATTRIBUTE, saved)
    return saved


def saved_accounts(sociallogin: SocialLogin) -> list[SavedAccount]:
    return getattr(sociallogin, _SAVED_ATTRIBUTE, [])


def _discover(
    platform: str, grant: OAuthGrant, sociallogin: SocialLogin
) -> tuple[OAuthGrant, list[DiscoveredAccount]]:
    if platform == Platform.TIKTOK:
        return grant, [discovery.tiktok_account(sociallogin.account.extra_data)]
    if platform == Platform.YOUTUBE:
        return grant, discovery.youtube_channels(grant)
    app = sociallogin.provider.app
    long_lived = discovery.instagram_long_lived_grant(
        grant, client_id=app.client_id, client_secret=app.secret
    )
    return long_lived, discovery.instagram_accounts(long_lived, app_secret=app.secret)
