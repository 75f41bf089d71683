from __future__ import annotations

from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from platforms.oauth.google.provider import GoogleProvider

# Only login/ and login/callback/: allauth's One Tap `login/token/` view is
# not offered, since accounts are only connected, never signed in with.
urlpatterns = default_urlpatterns(GoogleProvider)
