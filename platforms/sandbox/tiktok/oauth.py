"""TikTok Login Kit v2: consent page, token, refresh rotation and revoke."""

from __future__ import annotations

from typing import Any

from ..core.consent import consent_page, error_page
from ..core.http import Request, Response, html_response, json_response, redirect
from ..core.tokens import Grant
from ..core.world import Account
from ..oauth_common import pkce_matches, redirect_allowed, with_query
from .base import TikTokBase
from .common import KNOWN_SCOPES


class TikTokOAuth(TikTokBase):
    """Authorization codes, token issue, rotation and reuse detection."""

    def authorize(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/login-kit-web/
        params = request.params()
        if params.get("client_key") != self.creds()["client_key"]:
            return html_response(
                error_page("Something went wrong", "client_key is invalid."), 400
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(
            self.config("credentials", "redirect_uris"), redirect_uri
        ):
            return html_response(
                error_page("Something went wrong", "redirect_uri is invalid."), 400
            )
        state = params.get("state", "")
        scopes = [s for s in params.get("scope", "").split(",") if s]
        approved = set(self.creds()["approved_scopes"])
        bad = [s for s in scopes if s not in KNOWN_SCOPES or s not in approved]
        if bad or not scopes or params.get("response_type", "code") != "code":
            return redirect(
                with_query(
                    redirect_uri,
                    {
                        "error": "invalid_scope"
                        if bad or not scopes
                        else "invalid_request",
                        "error_description": (
                            f"Scope(s) not authorized: {','.join(bad)}"
                        ),
                        "state": state,
                    },
                )
            )
        accounts = self.sb.world.accounts("tiktok")
        if request.method == "GET":
            page = consent_page(
                brand="TikTok",
                client=params["client_key"],
                scopes=scopes,
                query=params,
                accounts=accounts,
            )
            return html_response(page)
        if request.form.get("decision") != "approve":
            return redirect(
                with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": (
                            "The user denied the authorization request."
                        ),
                        "state": state,
                    },
                )
            )
        account = self.sb.world.account(request.form.get("account", "")) or accounts[0]
        grant = Grant(
            platform="tiktok",
            client_id=params["client_key"],
            account_id=account.id,
            scopes=scopes,
            redirect_uri=redirect_uri,
            code_challenge=params.get("code_challenge", ""),
            code_challenge_method=params.get("code_challenge_method", ""),
            expires_at=self.now + float(self.config("tokens", "code_ttl")),
        )
        code = self.sb.tokens.add_code(grant, "sbtt-")
        return redirect(
            with_query(
                redirect_uri, {"code": code, "scopes": ",".join(scopes), "state": state}
            )
        )

    def _issue(
        self,
        account_id: str,
        client_key: str,
        scopes: list[str],
        family: str | None,
        refresh_expires: float | None,
    ) -> dict[str, Any]:
        conf = self.config("tokens", "tiktok")
        now = self.now
        store = self.sb.tokens
        access = store.issue(
            prefix="act.sb",
            kind="access",
            platform="tiktok",
            client_id=client_key,
            account_id=account_id,
            scopes=scopes,
            family=family,
            expires_at=self.access_expiry(conf["access_ttl"], now=now),
        )
        refresh_at = (
            refresh_expires
            if refresh_expires is not None
            else now + conf["refresh_ttl"]
        )
        refresh = store.issue(
            prefix="rft.sb",
            kind="refresh",
            platform="tiktok",
            client_id=client_key,
            account_id=account_id,
            scopes=scopes,
            family=access.family,
            expires_at=refresh_at,
        )
        account = self.sb.world.account(account_id)
        assert account is not None
        return {
            "access_token": access.value,
            "expires_in": int(conf["access_ttl"]),
            "open_id": self.open_id(account, client_key),
            "refresh_expires_in": max(int(refresh_at - now), 0),
            "refresh_token": refresh.value,
            "scope": ",".join(scopes),
            "token_type": "Bearer",
        }

    def issue_for(self, account: Account, scopes: list[str] | None) -> dict[str, Any]:
        chosen = scopes or list(self.creds()["approved_scopes"])
        return self._issue(account.id, self.creds()["client_key"], chosen, None, None)

    def token(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/oauth-user-access-token-management
        form = request.form
        creds = self.creds()
        if (
            form.get("client_key") != creds["client_key"]
            or form.get("client_secret") != creds["client_secret"]
        ):
            return self.oauth_error(
                "invalid_client", "Client key or secret is incorrect.", 401
            )
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            return self._refresh(request, form)
        return self.oauth_error(
            "invalid_request", "grant_type is missing or unsupported."
        )

    def _exchange_code(self, form: dict[str, str]) -> Response:
        grant, problem = self.sb.tokens.take_code(form.get("code", ""))
        if grant is None or problem:
            return self.oauth_error(
                "invalid_grant", "Authorization code is expired or was already used."
            )
        if grant.platform != "tiktok" or grant.client_id != form["client_key"]:
            return self.oauth_error(
                "invalid_grant", "Authorization code was issued to another client."
            )
        if self.now >= grant.expires_at:
            return self.oauth_error("invalid_grant", "Authorization code is expired.")
        if form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            return self.oauth_error(
                "invalid_grant",
                "redirect_uri does not match the authorization request.",
            )
        if grant.code_challenge:
            verifier = form.get("code_verifier", "")
            if not verifier:
                return self.oauth_error("invalid_request", "code_verifier is required.")
            if not pkce_matches(
                grant.code_challenge,
                grant.code_challenge_method,
                verifier,
                allow_hex=True,
            ):
                return self.oauth_error(
                    "invalid_grant", "code_verifier does not match the code_challenge."
                )
        return json_response(
            self._issue(grant.account_id, grant.client_id, grant.scopes, None, None)
        )

    def _refresh(self, request: Request, form: dict[str, str]) -> Response:
        store = self.sb.tokens
        with store.lock:
            old = store.get(form.get("refresh_token"))
            if (
                old is None
                or old.kind != "refresh"
                or old.client_id != form["client_key"]
            ):
                return self.oauth_error(
                    "invalid_grant", "Refresh token is invalid or expired."
                )
            if old.rotated and not old.revoked:
                detect = self.config("tokens", "tiktok")[
                    "reuse_detection"
                ] or self.sb.faults.enabled(
                    "refresh_reuse_detection", "tiktok", request.endpoint
                )
                if detect:
                    # A stolen-token signal: every token of the family dies.
                    store.revoke_family(old.family)
                return self.oauth_error(
                    "invalid_grant", "Refresh token is invalid or expired."
                )
            if not old.is_valid(self.now):
                return self.oauth_error(
                    "invalid_grant", "Refresh token is invalid or expired."
                )
            store.mark_rotated(old)
            reply = self._issue(
                old.account_id, old.client_id, old.scopes, old.family, old.expires_at
            )
        return json_response(reply)

    def revoke(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/oauth-user-access-token-management
        form = request.form
        creds = self.creds()
        if (
            form.get("client_key") != creds["client_key"]
            or form.get("client_secret") != creds["client_secret"]
        ):
            return self.oauth_error(
                "invalid_client", "Client key or secret is incorrect.", 401
            )
        token = self.sb.tokens.get(form.get("token"))
        if token is None or token.platform != "tiktok":
            return self.oauth_error("invalid_request", "token is invalid.")
        self.sb.tokens.revoke_family(token.family)
        return json_response({})
