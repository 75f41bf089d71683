"""Facebook Login: the dialog page, code exchange and long-lived tokens."""

from __future__ import annotations

from typing import Any

from ..core.consent import consent_page, error_page
from ..core.http import Request, Response, html_response, json_response, redirect
from ..core.tokens import Grant
from ..core.world import Account
from ..oauth_common import redirect_allowed, with_query
from .base import GraphBase


class FacebookOAuth(GraphBase):
    """Login dialog, oauth/access_token and fb_exchange_token."""

    def dialog(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
        params = request.params()
        if params.get("client_id") != self.creds()["app_id"]:
            return html_response(
                error_page(
                    "Invalid App ID",
                    "The provided app ID does not look like a valid app ID.",
                ),
                400,
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(
            self.config("credentials", "redirect_uris"), redirect_uri
        ):
            return html_response(
                error_page(
                    "URL blocked",
                    "This redirect failed because the redirect URI is not whitelisted.",
                ),
                400,
            )
        scopes = [s for s in params.get("scope", "").replace(" ", ",").split(",") if s]
        state = params.get("state", "")
        accounts = self.sb.world.accounts("instagram")
        if request.method == "GET":
            return html_response(
                consent_page(
                    brand="Facebook",
                    client=params["client_id"],
                    scopes=scopes,
                    query=params,
                    accounts=accounts,
                )
            )
        if request.form.get("decision") != "approve":
            return redirect(
                with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_code": "200",
                        "error_description": "Permissions error",
                        "error_reason": "user_denied",
                        "state": state,
                    },
                )
                + "#_=_"
            )
        account = self.sb.world.account(request.form.get("account", "")) or accounts[0]
        grant = Grant(
            platform="instagram",
            client_id=params["client_id"],
            account_id=account.id,
            scopes=scopes,
            redirect_uri=redirect_uri,
            expires_at=self.now + float(self.config("tokens", "code_ttl")),
        )
        code = self.sb.tokens.add_code(grant, "AQsb")
        return redirect(
            with_query(redirect_uri, {"code": code, "state": state}) + "#_=_"
        )

    def _issue(
        self,
        account_id: str,
        scopes: list[str],
        long_lived: bool,
        family: str | None = None,
    ) -> dict[str, Any]:
        conf = self.config("tokens", "facebook")
        ttl = conf["long_ttl"] if long_lived else conf["short_ttl"]
        token = self.sb.tokens.issue(
            prefix="EAAsb",
            kind="access",
            platform="instagram",
            client_id=self.creds()["app_id"],
            account_id=account_id,
            scopes=scopes,
            family=family,
            expires_at=self.access_expiry(ttl),
            long_lived=long_lived,
        )
        return {
            "access_token": token.value,
            "token_type": "bearer",
            "expires_in": int(ttl),
        }

    def issue_for(self, account: Account, scopes: list[str] | None) -> dict[str, Any]:
        chosen = scopes or [
            "instagram_basic",
            "instagram_manage_insights",
            "pages_read_engagement",
            "pages_show_list",
        ]
        return self._issue(account.id, chosen, long_lived=True)

    def access_token(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
        params = request.params()
        if params.get("client_id") != self.creds()["app_id"]:
            return self.error(
                101, "Error validating application. Invalid application ID."
            )
        if params.get("client_secret") != self.creds()["app_secret"]:
            return self.error(1, "Error validating client secret.")
        if params.get("grant_type") == "fb_exchange_token":
            old = self.sb.tokens.get(params.get("fb_exchange_token"))
            if old is None or old.platform != "instagram" or not old.is_valid(self.now):
                return self.error(
                    190, "Invalid OAuth access token - Cannot parse access token"
                )
            return json_response(
                self._issue(old.account_id, old.scopes, True, old.family)
            )
        grant, problem = self.sb.tokens.take_code(params.get("code", ""))
        if grant is None or grant.platform != "instagram":
            return self.error(100, "Invalid verification code format.", subcode=36008)
        if problem:
            return self.error(
                100, "This authorization code has been used.", subcode=36009
            )
        if self.now >= grant.expires_at:
            return self.error(
                100, "This authorization code has expired.", subcode=36007
            )
        if params.get("redirect_uri") != grant.redirect_uri:
            return self.error(
                100,
                "Error validating verification code. Please make sure your "
                "redirect_uri is identical to the one you used in the OAuth dialog "
                "request",
                subcode=36008,
            )
        return json_response(self._issue(grant.account_id, grant.scopes, False))
