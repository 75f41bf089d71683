"""Errors, tokens, rate limits and usage headers shared by Graph endpoints."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from ..core.http import Request, Response, json_response
from ..core.service import Service
from ..core.tokens import Token
from ..core.world import Account
from .common import PACIFIC


class GraphBase(Service):
    """Graph error bodies, token checks and the app/user/page/BUC buckets."""

    def trace(self) -> str:
        return self.sb.tokens.new_value("A", 22)

    def error(
        self,
        code: int,
        message: str,
        status: int = 400,
        subcode: int | None = None,
        type_: str = "OAuthException",
        **extra: Any,
    ) -> Response:
        body: dict[str, Any] = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            body["error_subcode"] = subcode
        body.update(extra)
        body["fbtrace_id"] = self.trace()
        return json_response(
            {"error": body}, status, throttled=code in {4, 17, 32, 613, 80002}
        )

    def not_found(self, request: Request) -> Response:
        return self.error(2500, f"Unknown path components: {request.path}")

    def server_error(self, request: Request, status: int) -> Response:
        return self.error(
            2,
            "An unexpected error has occurred. Please retry your request later.",
            status,
            is_transient=True,
        )

    def throttled(self, request: Request, retry_after: int, in_200: bool) -> Response:
        response = self.error(
            4,
            "(#4) Application request limit reached",
            200 if in_200 else 400,
            is_transient=True,
        )
        response.set_header(
            "X-App-Usage",
            json.dumps({"call_count": 100, "total_cputime": 40, "total_time": 60}),
        )
        return response

    def unsupported(self, object_id: str) -> Response:
        return self.error(
            100,
            "Invalid parameter",
            subcode=33,
            error_data={},
            is_transient=False,
            error_user_msg=(
                f"Unsupported get request. Object with ID '{object_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not "
                "support this operation."
            ),
        )

    def no_permission(self) -> Response:
        return self.error(
            10, "(#10) Application does not have permission for this action"
        )

    def token_of(self, request: Request) -> str | None:
        if request.endpoint == "facebook.oauth.access_token":
            return request.params().get("fb_exchange_token") or None
        return request.params().get("access_token") or request.bearer()

    def creds(self) -> dict[str, Any]:
        return self.config("credentials", "facebook")

    def _auth(
        self, request: Request, permission: str | None = None
    ) -> tuple[Token | None, Account | None, Response | None]:
        if not request.token:
            return (
                None,
                None,
                self.error(
                    2500,
                    (
                        "An active access token must be used to query information "
                        "about the current user."
                    ),
                ),
            )
        token = self.sb.tokens.get(request.token)
        if token is None or token.platform != "instagram":
            return (
                None,
                None,
                self.error(
                    190, "Invalid OAuth access token - Cannot parse access token"
                ),
            )
        if token.revoked:
            return (
                None,
                None,
                self.error(
                    190,
                    (
                        "Error validating access token: The user has not authorized "
                        "application."
                    ),
                    400,
                    458,
                ),
            )
        if not token.is_valid(self.now):
            when = datetime.fromtimestamp(token.expires_at or 0, PACIFIC).strftime(
                "%A, %d-%b-%y %H:%M:%S %Z"
            )
            return (
                None,
                None,
                self.error(
                    190,
                    f"Error validating access token: Session has expired on {when}.",
                    400,
                    463,
                ),
            )
        proof = request.params().get("appsecret_proof")
        if proof is not None:
            secret = self.creds()["app_secret"].encode()
            wanted = hmac.new(secret, token.value.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof, wanted):
                return (
                    None,
                    None,
                    self.error(
                        100, "Invalid appsecret_proof provided in the API argument"
                    ),
                )
        if permission and permission not in token.scopes:
            return None, None, self.no_permission()
        account = self.sb.world.account(token.account_id)
        return token, account, None

    def _limits(
        self, request: Request, token: Token, account: Account
    ) -> tuple[list[tuple[str, str]], Response | None]:
        """Count the call in every bucket; return usage headers or a throttle error."""
        conf = self.config("limits", "graph")
        now = self.now
        window = conf["window_seconds"]
        windows = self.sb.windows
        # Graph's app limit scales with the app's users: accounts holding a live
        # token of this app (revoked and expired tokens no longer count).
        users = max(1, self.sb.tokens.live_accounts("instagram", token.client_id, now))
        app_limit = conf["app_calls_per_user"] * users
        checks: list[tuple[tuple[str, ...], int, int, str]] = [
            (
                ("graph-app", token.client_id),
                app_limit,
                4,
                "(#4) Application request limit reached",
            ),
            (
                ("graph-user", account.id),
                conf["user_calls"],
                17,
                "(#17) User request limit reached",
            ),
        ]
        if request.endpoint == "graph.me.accounts":
            checks.append(
                (
                    ("graph-page", account.id),
                    conf["page_calls"],
                    32,
                    "(#32) Page request limit reached",
                )
            )
        if request.endpoint == "graph.business_discovery":
            checks.append(
                (
                    ("graph-discovery", account.id),
                    conf["discovery_calls"],
                    613,
                    "(#613) Calls to this api have exceeded the rate limit.",
                )
            )
        buc = request.endpoint.startswith(("graph.ig", "graph.media", "graph.business"))
        if buc:
            checks.append(
                (
                    ("graph-buc", account.external_id),
                    conf["buc_calls"],
                    80002,
                    (
                        "(#80002) There have been too many calls to this Instagram "
                        "account. Wait a bit and try again."
                    ),
                )
            )
        failed = None
        for key, limit, code, message in checks:
            if windows.hit(key, now, window, limit):
                failed = (code, message)
                break
        headers = []
        app_pct = min(
            100,
            windows.count(("graph-app", token.client_id), now, window)
            * 100
            // max(app_limit, 1),
        )
        if failed and failed[0] == 4:
            app_pct = 100
        headers.append(
            (
                "X-App-Usage",
                json.dumps(
                    {
                        "call_count": app_pct,
                        "total_cputime": app_pct * 2 // 5,
                        "total_time": app_pct * 3 // 5,
                    }
                ),
            )
        )
        if buc:
            buc_pct = min(
                100,
                windows.count(("graph-buc", account.external_id), now, window)
                * 100
                // max(conf["buc_calls"], 1),
            )
            regain = conf["regain_minutes"] if failed and failed[0] == 80002 else 0
            if failed and failed[0] == 80002:
                buc_pct = 100
            if buc_pct or regain:
                usage = {
                    account.external_id: [
                        {
                            "type": "instagram",
                            "call_count": buc_pct,
                            "total_cputime": buc_pct * 2 // 5,
                            "total_time": buc_pct * 3 // 5,
                            "estimated_time_to_regain_access": regain,
                        }
                    ]
                }
                headers.append(("X-Business-Use-Case-Usage", json.dumps(usage)))
        if failed:
            response = self.error(failed[0], failed[1], 400, is_transient=True)
            response.headers.extend(headers)
            return headers, response
        return headers, None

    def _guard(
        self, request: Request, permission: str | None
    ) -> tuple[Token | None, Account | None, list[tuple[str, str]], Response | None]:
        token, account, error = self._auth(request, permission)
        if error:
            return None, None, [], error
        assert token is not None and account is not None
        headers, error = self._limits(request, token, account)
        return token, account, headers, error

    def _reply(self, data: Any, headers: list[tuple[str, str]]) -> Response:
        return json_response(data, 200, headers)

    def _own_account(self, account: Account, ig_id: str) -> bool:
        return account.external_id == ig_id

    def _self_url(self, request: Request, path: str) -> str:
        env = request.environ
        host = (
            env.get("HTTP_HOST")
            or f"{env.get('SERVER_NAME', 'localhost')}:{env.get('SERVER_PORT', '80')}"
        )
        scheme = env.get("wsgi.url_scheme", "http")
        version = (
            request.path.split("/")[1] if request.path.startswith("/v") else "v25.0"
        )
        script = env.get("SCRIPT_NAME", "")
        return f"{scheme}://{host}{script}/facebook-graph/{version}/{path}"
