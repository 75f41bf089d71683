"""TikTok Login Kit v2, hosts from settings (TIKTOK_AUTH_URL, TIKTOK_API_URL)."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from allauth.socialaccount.providers.oauth2.views import (
    OAuth2CallbackView,
    OAuth2LoginView,
)
from allauth.socialaccount.providers.tiktok.views import (
    TikTokOAuth2Adapter as AllauthTikTokOAuth2Adapter,
)
from django.conf import settings
from django.http import HttpRequest

from platforms.oauth.grant import OAuthGrant, attach_grant
from platforms.oauth.replies import ProfileError, json_object

# The fields each scope allows. Asking for a field whose scope the creator
# unticked fails the whole call, so only granted scopes' fields are asked
# for. The stats fields are read by the collector, not at connect time.
# Reference: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info/
SCOPE_FIELDS = {
    "user.info.basic": ("open_id", "union_id", "avatar_url", "display_name"),
    "user.info.profile": ("username", "profile_deep_link", "is_verified"),
}


class TikTokOAuth2Adapter(AllauthTikTokOAuth2Adapter):
    @property
    def authorize_url(self) -> str:  # type: ignore[override]
        # Reference: https://developers.tiktok.com/doc/login-kit-web/
        return f"{settings.TIKTOK_AUTH_URL}/v2/auth/authorize/"

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        # Reference: https://developers.tiktok.com/doc/oauth-user-access-token-management/
        return f"{settings.TIKTOK_API_URL}/v2/oauth/token/"

    @property
    def profile_url(self) -> str:  # type: ignore[override]
        return f"{settings.TIKTOK_API_URL}/v2/user/info/"

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        grant = OAuthGrant.from_token_response(kwargs["response"])
        granted = grant.scopes if grant.scopes is not None else tuple(SCOPE_FIELDS)
        if "user.info.basic" not in granted:
            raise ProfileError(
                "TikTok did not share your basic profile (user.info.basic), so "
                "the account cannot be identified. Connect again and leave every "
                "permission ticked."
            )
        fields = [f for scope in granted for f in SCOPE_FIELDS.get(scope, ())]
        headers = {"Authorization": f"Bearer {token.token}"}
        # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info/
        with get_adapter().get_requests_session() as session:
            response = session.get(
                self.profile_url, headers=headers, params={"fields": ",".join(fields)}
            )
        body = json_object(response)
        user = (body.get("data") or {}).get("user")
        # TikTok reports errors in the envelope, sometimes with HTTP 200.
        if not response.ok or not isinstance(user, dict) or not user.get("open_id"):
            code = (body.get("error") or {}).get("code", response.status_code)
            raise ProfileError(
                f"TikTok did not return your profile ({code}). Nothing was "
                "changed; please try again."
            )
        login = self.get_provider().sociallogin_from_response(request, user)
        return attach_grant(login, grant)


oauth2_login = OAuth2LoginView.adapter_view(TikTokOAuth2Adapter)
oauth2_callback = OAuth2CallbackView.adapter_view(TikTokOAuth2Adapter)
