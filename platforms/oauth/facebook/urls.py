from __future__ import annotations

from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from platforms.oauth.facebook.provider import FacebookProvider

# Only login/ and login/callback/: the JS SDK's `login/token/` is not offered.
urlpatterns = default_urlpatterns(FacebookProvider)
