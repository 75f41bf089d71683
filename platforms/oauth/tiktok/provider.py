"""allauth's TikTok provider with its URLs taken from settings."""

from __future__ import annotations

from allauth.socialaccount.providers.tiktok.provider import (
    TikTokProvider as AllauthTikTokProvider,
)

from platforms.oauth.tiktok.views import TikTokOAuth2Adapter


class TikTokProvider(AllauthTikTokProvider):
    oauth2_adapter_class = TikTokOAuth2Adapter


provider_classes = [TikTokProvider]
