"""Google OAuth 2.0 with hosts from settings (`GOOGLE_*_URL`)."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.google.views import (
    GoogleOAuth2Adapter as AllauthGoogleOAuth2Adapter,
)
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2CallbackView,
    OAuth2LoginView,
)
from django.conf import settings
from django.http import HttpRequest

from platforms.oauth.grant import OAuthGrant, attach_grant
from platforms.oauth.replies import ProfileError, json_object


class GoogleOAuth2Adapter(AllauthGoogleOAuth2Adapter):
    @property
    def authorize_url(self) -> str:  # type: ignore[override]
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server
        return f"{settings.GOOGLE_AUTH_URL}/o/oauth2/v2/auth"

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        return f"{settings.GOOGLE_TOKEN_URL}/token"

    @property
    def identity_url(self) -> str:  # type: ignore[override]
        # Reference: https://developers.google.com/identity/openid-connect/openid-connect#obtaininguserprofileinformation
        return f"{settings.GOOGLE_USERINFO_URL}/v1/userinfo"

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        # allauth would decode the id_token, checking its issuer against the
        # hard-coded accounts.google.com; the userinfo endpoint answers the
        # same question (who granted this token) from the configured host.
        headers = {"Authorization": f"Bearer {token.token}"}
        with get_adapter().get_requests_session() as session:
            response = session.get(self.identity_url, headers=headers)
        user = json_object(response)
        if not response.ok or not (user.get("sub") or user.get("id")):
            raise ProfileError(
                f"Google did not return your profile (HTTP {response.status_code}). "
                "Nothing was changed; please try again."
            )
        login = self.get_provider().sociallogin_from_response(request, user)
        return attach_grant(login, OAuthGrant.from_token_response(kwargs["response"]))


oauth2_login = OAuth2LoginView.adapter_view(GoogleOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(GoogleOAuth2Adapter)
