"""allauth's Google provider with its URLs taken from settings."""

from __future__ import annotations

from allauth.socialaccount.providers.google.provider import (
    GoogleProvider as AllauthGoogleProvider,
)

from platforms.oauth.google.views import GoogleOAuth2Adapter


class GoogleProvider(AllauthGoogleProvider):
    oauth2_adapter_class = GoogleOAuth2Adapter
    # Google supports PKCE (S256) for web apps; it binds the code to this
    # browser session on top of the state parameter.
    pkce_enabled_default = True


provider_classes = [GoogleProvider]
