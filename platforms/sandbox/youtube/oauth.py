"""Google OAuth 2.0: consent page, token, refresh, revoke and userinfo."""

from __future__ import annotations

import base64
from typing import Any

from ..core.consent import consent_page, error_page
from ..core.http import Request, Response, html_response, json_response, redirect
from ..core.tokens import Grant, Token
from ..core.world import Account, stable_hash
from ..oauth_common import pkce_matches, redirect_allowed, with_query
from .base import GoogleBase
from .common import KNOWN_SCOPES, YT, unauthenticated


class GoogleOAuth(GoogleBase):
    """Offline access, prompt=consent and the userinfo endpoints allauth reads."""

    # Scopes granted per (client_id, account_id): decides whether a grant is
    # the first one (refresh token) and feeds include_granted_scopes.
    granted: dict[tuple[str, str], set[str]]

    def reset(self) -> None:
        self.granted.clear()

    def authorize(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server
        params = request.params()
        client_id = params.get("client_id", "")
        if client_id != self.creds()["client_id"]:
            return html_response(
                error_page(
                    "Error 401: invalid_client", "The OAuth client was not found."
                ),
                401,
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(
            self.config("credentials", "redirect_uris"), redirect_uri
        ):
            return html_response(
                error_page(
                    "Error 400: redirect_uri_mismatch",
                    "redirect_uri is not registered.",
                ),
                400,
            )
        scopes = [s for s in params.get("scope", "").split() if s]
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return html_response(
                error_page(
                    "Error 400: invalid_scope", "Some requested scopes were invalid."
                ),
                400,
            )
        if params.get("response_type", "code") != "code":
            return html_response(
                error_page(
                    "Error 400: unsupported_response_type",
                    "response_type must be code.",
                ),
                400,
            )
        state = params.get("state", "")
        accounts = self.sb.world.accounts("youtube")
        if request.method == "GET":
            page = consent_page(
                brand="Google",
                client=client_id,
                scopes=scopes,
                query=params,
                accounts=accounts,
            )
            return html_response(page)
        if request.form.get("decision") != "approve":
            return redirect(
                with_query(redirect_uri, {"error": "access_denied", "state": state})
            )
        account = self.sb.world.account(request.form.get("account", "")) or accounts[0]
        key = (client_id, account.id)
        previous = self.granted.get(key, set())
        first_grant = key not in self.granted
        granted = set(scopes) | (
            previous if params.get("include_granted_scopes") == "true" else set()
        )
        self.granted[key] = previous | set(scopes)
        offline = params.get("access_type") == "offline" and (
            first_grant or "consent" in params.get("prompt", "").split()
        )
        grant = Grant(
            platform="youtube",
            client_id=client_id,
            account_id=account.id,
            scopes=sorted(granted),
            redirect_uri=redirect_uri,
            code_challenge=params.get("code_challenge", ""),
            code_challenge_method=params.get("code_challenge_method", ""),
            expires_at=self.now + float(self.config("tokens", "code_ttl")),
            offline=offline,
        )
        code = self.sb.tokens.add_code(grant, "4/0Asb")
        return redirect(
            with_query(
                redirect_uri,
                {
                    "state": state,
                    "code": code,
                    "scope": " ".join(grant.scopes),
                    "authuser": "0",
                    "prompt": "consent",
                },
            )
        )

    def _client_ok(self, request: Request) -> bool:
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.header("authorization")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = (
                    base64.b64decode(basic[6:]).decode().partition(":")
                )
            except ValueError:
                return False
        return (
            client_id == self.creds()["client_id"]
            and secret == self.creds()["client_secret"]
        )

    def _issue(
        self, account_id: str, scopes: list[str], offline: bool
    ) -> dict[str, Any]:
        conf = self.config("tokens", "google")
        now = self.now
        access = self.sb.tokens.issue(
            prefix="ya29.sb",
            kind="access",
            platform="youtube",
            client_id=self.creds()["client_id"],
            account_id=account_id,
            scopes=scopes,
            family=None,
            expires_at=self.access_expiry(conf["access_ttl"], now=now),
        )
        reply: dict[str, Any] = {
            "access_token": access.value,
            "expires_in": int(conf["access_ttl"]),
        }
        if offline:
            refresh_ttl = conf["refresh_ttl"]
            refresh = self.sb.tokens.issue(
                prefix="1//sb",
                kind="refresh",
                platform="youtube",
                client_id=self.creds()["client_id"],
                account_id=account_id,
                scopes=scopes,
                family=access.family,
                expires_at=None if refresh_ttl is None else now + refresh_ttl,
            )
            reply["refresh_token"] = refresh.value
            if refresh_ttl is not None:
                reply["refresh_token_expires_in"] = int(refresh_ttl)
        reply.update(scope=" ".join(scopes), token_type="Bearer")
        return reply

    def issue_for(self, account: Account, scopes: list[str] | None) -> dict[str, Any]:
        chosen = scopes or [
            YT + "youtube.readonly",
            YT + "yt-analytics.readonly",
            "openid",
            YT + "userinfo.email",
        ]
        self.granted.setdefault((self.creds()["client_id"], account.id), set()).update(
            chosen
        )
        return self._issue(account.id, chosen, offline=True)

    def token(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
        if not self._client_ok(request):
            return json_response(
                {"error": "invalid_client", "error_description": "Unauthorized"}, 401
            )
        form = request.form
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant, problem = self.sb.tokens.take_code(form.get("code", ""))
            if grant is None:
                return _invalid_grant("Malformed auth code.")
            if problem or grant.platform != "youtube" or self.now >= grant.expires_at:
                return _invalid_grant("Bad Request")
            if form.get("redirect_uri") != grant.redirect_uri:
                return json_response(
                    {
                        "error": "redirect_uri_mismatch",
                        "error_description": "Bad Request",
                    },
                    400,
                )
            if grant.code_challenge:
                verifier = form.get("code_verifier", "")
                if not verifier:
                    return _invalid_grant("Missing code verifier.")
                if not pkce_matches(
                    grant.code_challenge,
                    grant.code_challenge_method,
                    verifier,
                    allow_hex=False,
                ):
                    return _invalid_grant("Invalid code verifier.")
            return json_response(
                self._issue(grant.account_id, grant.scopes, grant.offline)
            )
        if grant_type == "refresh_token":
            token = self.sb.tokens.get(form.get("refresh_token"))
            if (
                token is None
                or token.kind != "refresh"
                or token.platform != "youtube"
                or not token.is_valid(self.now)
            ):
                return _invalid_grant("Token has been expired or revoked.")
            # Refresh replies carry no refresh_token: the old one stays valid.
            access = self.sb.tokens.issue(
                prefix="ya29.sb",
                kind="access",
                platform="youtube",
                client_id=token.client_id,
                account_id=token.account_id,
                scopes=token.scopes,
                family=token.family,
                expires_at=self.access_expiry(
                    self.config("tokens", "google")["access_ttl"]
                ),
            )
            return json_response(
                {
                    "access_token": access.value,
                    "expires_in": int(self.config("tokens", "google")["access_ttl"]),
                    "scope": " ".join(token.scopes),
                    "token_type": "Bearer",
                }
            )
        return json_response(
            {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type: " + str(grant_type),
            },
            400,
        )

    def revoke(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
        token = self.sb.tokens.get(request.params().get("token"))
        if token is None or token.platform != "youtube" or token.revoked:
            return json_response(
                {
                    "error": "invalid_token",
                    "error_description": "Token expired or revoked",
                },
                400,
            )
        self.sb.tokens.revoke_family(token.family)
        self.granted.pop((token.client_id, token.account_id), None)
        return json_response({})

    def _userinfo(self, request: Request) -> tuple[Account | None, Token | None]:
        token = self._access(request)
        if token is None:
            return None, None
        return self.sb.world.account(token.account_id), token

    def userinfo_v3(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/openid-connect/openid-connect#obtaininguserprofileinformation
        account, _ = self._userinfo(request)
        if account is None:
            return json_response(
                {
                    "error": "invalid_request",
                    "error_description": "Invalid Credentials",
                },
                401,
            )
        return json_response(
            {
                "sub": self._sub(account),
                "name": account.display_name,
                "given_name": "Sandbox",
                "family_name": f"Creator {account.index}",
                "picture": f"https://lh3.googleusercontent.com/a/sandbox-{account.index}=s96-c",
                "email": f"{account.handle}@example.com",
                "email_verified": True,
                "locale": "en",
            }
        )

    def userinfo_v2(self, request: Request) -> Response:
        account, _ = self._userinfo(request)
        if account is None:
            return unauthenticated()
        return json_response(
            {
                "id": self._sub(account),
                "email": f"{account.handle}@example.com",
                "verified_email": True,
                "name": account.display_name,
                "given_name": "Sandbox",
                "family_name": f"Creator {account.index}",
                "picture": f"https://lh3.googleusercontent.com/a/sandbox-{account.index}=s96-c",
                "locale": "en",
            }
        )

    def _sub(self, account: Account) -> str:
        return str(
            100000000000000000000
            + stable_hash(self.sb.seed, "sub", account.id) % 10**20
        )


def _invalid_grant(description: str) -> Response:
    return json_response(
        {"error": "invalid_grant", "error_description": description}, 400
    )
