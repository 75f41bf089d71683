from __future__ import annotations

from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from platforms.oauth.tiktok.provider import TikTokProvider

urlpatterns = default_urlpatterns(TikTokProvider)
