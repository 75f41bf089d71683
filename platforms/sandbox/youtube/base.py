"""Access control, quota and replies shared by the Google endpoints."""

from __future__ import annotations

from typing import Any

from ..core.http import Request, Response, json_response
from ..core.service import Service
from ..core.tokens import Token
from .common import QUOTA_MESSAGE, google_error, insufficient_scopes, unauthenticated


class GoogleBase(Service):
    """Tokens, API keys, projects, quota charging and fault replies."""

    def not_found(self, request: Request) -> Response:
        return google_error(404, "Not Found", "notFound", state="NOT_FOUND")

    def server_error(self, request: Request, status: int) -> Response:
        if status == 503:
            return google_error(
                503,
                "The service is currently unavailable.",
                "backendError",
                state="UNAVAILABLE",
            )
        return google_error(
            status, "Internal error encountered.", "backendError", state="INTERNAL"
        )

    def throttled(self, request: Request, retry_after: int, in_200: bool) -> Response:
        if in_200:
            response = google_error(
                403,
                "Rate Limit Exceeded",
                "rateLimitExceeded",
                domain="usageLimits",
                state="PERMISSION_DENIED",
            )
            response.status = 200
            return response
        response = google_error(
            429,
            "Resource has been exhausted (e.g. check quota).",
            "rateLimitExceeded",
            state="RESOURCE_EXHAUSTED",
        )
        response.set_header("Retry-After", str(retry_after))
        response.throttled = True
        return response

    def token_of(self, request: Request) -> str | None:
        if request.endpoint == "google.oauth.token":
            return request.form.get("refresh_token") or None
        if request.endpoint == "google.oauth.revoke":
            return request.params().get("token") or None
        return request.bearer() or request.query.get("access_token") or None

    def creds(self) -> dict[str, Any]:
        return self.config("credentials", "google")

    def _access(self, request: Request) -> Token | None:
        token = self.sb.tokens.get(request.token)
        if (
            token is None
            or token.platform != "youtube"
            or token.kind != "access"
            or not token.is_valid(self.now)
        ):
            return None
        return token

    def _project(
        self, request: Request, scopes: set[str]
    ) -> tuple[str, Token | None, Response | None]:
        projects = {self.creds()["client_id"]: "sandbox-project"}
        projects.update({key: "sandbox-project" for key in self.creds()["api_keys"]})
        projects.update(self.creds().get("projects", {}))
        key = request.query.get("key")
        token = None
        if request.token:
            token = self._access(request)
            if token is None:
                return "", None, unauthenticated()
            if scopes and not scopes & set(token.scopes):
                return "", None, insufficient_scopes()
            return projects.get(token.client_id, token.client_id), token, None
        if key is not None:
            if key not in self.creds()["api_keys"]:
                body = {
                    "error": {
                        "errors": [
                            {
                                "domain": "usageLimits",
                                "reason": "keyInvalid",
                                "message": "Bad Request",
                            }
                        ],
                        "code": 400,
                        "message": "Bad Request",
                    }
                }
                return "", None, json_response(body, 400)
            return projects.get(key, key), None, None
        return (
            "",
            None,
            google_error(
                403,
                "The request is missing a valid API key.",
                "forbidden",
                state="PERMISSION_DENIED",
            ),
        )

    def _charge(
        self, request: Request, project: str, bucket: str, cost: int, limit: int
    ) -> Response | None:
        conf = self.config("limits", "youtube")
        now = self.now
        if not self.sb.quota.charge(bucket, project, now, cost, limit):
            return google_error(
                403,
                QUOTA_MESSAGE,
                "quotaExceeded",
                domain="youtube.quota",
                state="PERMISSION_DENIED",
            )
        if self.sb.windows.hit(
            ("youtube", bucket, project),
            now,
            conf["rate_window_seconds"],
            conf["rate_per_window"],
        ):
            return google_error(
                403,
                "Rate Limit Exceeded",
                "rateLimitExceeded",
                domain="usageLimits",
                state="PERMISSION_DENIED",
            )
        return None
