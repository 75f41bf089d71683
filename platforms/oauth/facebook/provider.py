"""allauth's Facebook provider with its URLs taken from settings."""

from __future__ import annotations

from allauth.socialaccount.providers.facebook.provider import (
    FacebookProvider as AllauthFacebookProvider,
)

from platforms.oauth.facebook.views import FacebookOAuth2Adapter


class FacebookProvider(AllauthFacebookProvider):
    oauth2_adapter_class = FacebookOAuth2Adapter

    def get_method(self) -> str:
        # The JS SDK method loads connect.facebook.net into the page; the
        # server-side redirect flow works offline against the sandbox.
        return "oauth2"


provider_classes = [FacebookProvider]
