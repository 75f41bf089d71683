"""Facebook Login with hosts from settings (`FACEBOOK_WWW_URL`, `FACEBOOK_GRAPH_URL`).

The Graph API version comes from `FACEBOOK_GRAPH_VERSION`.
"""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.facebook.flows import compute_appsecret_proof
from allauth.socialaccount.providers.facebook.views import (
    FacebookOAuth2Adapter as AllauthFacebookOAuth2Adapter,
)
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2CallbackView,
    OAuth2LoginView,
)
from django.conf import settings
from django.http import HttpRequest

from platforms.oauth.grant import OAuthGrant, attach_grant
from platforms.oauth.replies import ProfileError, json_object


def graph_url(path: str) -> str:
    """An absolute, versioned Graph API URL for `path` ("/me")."""
    return f"{settings.FACEBOOK_GRAPH_URL}/{settings.FACEBOOK_GRAPH_VERSION}{path}"


class FacebookOAuth2Adapter(AllauthFacebookOAuth2Adapter):
    @property
    def authorize_url(self) -> str:  # type: ignore[override]
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
        return (
            f"{settings.FACEBOOK_WWW_URL}/{settings.FACEBOOK_GRAPH_VERSION}"
            "/dialog/oauth"
        )

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        return graph_url("/oauth/access_token")

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        provider = self.get_provider()
        params = {
            "fields": ",".join(provider.get_fields()),
            "access_token": token.token,
            "appsecret_proof": compute_appsecret_proof(app, token),
        }
        # Reference: https://developers.facebook.com/docs/graph-api/reference/user/
        with get_adapter().get_requests_session() as session:
            response = session.get(graph_url("/me"), params=params)
        user = json_object(response)
        if not response.ok or not user.get("id"):
            code = (user.get("error") or {}).get("code", response.status_code)
            raise ProfileError(
                f"Facebook did not return your profile ({code}). Nothing was "
                "changed; please try again."
            )
        login = provider.sociallogin_from_response(request, user)
        return attach_grant(login, OAuthGrant.from_token_response(kwargs["response"]))


oauth2_login = OAuth2LoginView.adapter_view(FacebookOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(FacebookOAuth2Adapter)
