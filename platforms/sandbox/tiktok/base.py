"""Envelopes and replies shared by every TikTok endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core.http import Request, Response, json_response
from ..core.service import Service
from ..core.world import Account, stable_hash
from .common import MESSAGES, STATUS


class TikTokBase(Service):
    """Error envelopes, token lookup and per-app identifiers."""

    def log_id(self) -> str:
        stamp = datetime.fromtimestamp(self.now, UTC).strftime("%Y%m%d%H%M%S")
        return f"{stamp}{self.sb.tokens.new_value('', 20).upper()}"

    def envelope(
        self, data: dict[str, Any], code: str = "ok", status: int | None = None
    ) -> Response:
        error = {
            "code": code,
            "message": "" if code == "ok" else MESSAGES[code],
            "log_id": self.log_id(),
        }
        return json_response(
            {"data": data, "error": error},
            status or (200 if code == "ok" else STATUS[code]),
            throttled=code == "rate_limit_exceeded",
        )

    def oauth_error(self, error: str, description: str, status: int = 400) -> Response:
        return json_response(
            {"error": error, "error_description": description, "log_id": self.log_id()},
            status,
        )

    def business(
        self, data: dict[str, Any] | None, code: int = 0, message: str = "OK"
    ) -> Response:
        body = {
            "code": code,
            "message": message,
            "request_id": self.log_id(),
            "data": data or {},
        }
        # Business API errors arrive with HTTP 200 and a non-zero `code`.
        return json_response(body, 200, throttled=code == 40100)

    def token_of(self, request: Request) -> str | None:
        if request.endpoint.startswith("tiktok.business"):
            return request.header("access-token") or None
        if request.endpoint in {"tiktok.oauth.token", "tiktok.oauth.revoke"}:
            return (
                request.form.get("refresh_token") or request.form.get("token") or None
            )
        return request.bearer()

    def not_found(self, request: Request) -> Response:
        return self.envelope({}, "invalid_params", 404)

    def server_error(self, request: Request, status: int) -> Response:
        if request.endpoint.startswith("tiktok.business"):
            body = {
                "code": 50000,
                "message": "System error",
                "request_id": self.log_id(),
                "data": {},
            }
            return json_response(body, status)
        return self.envelope({}, "internal_error", status)

    def throttled(self, request: Request, retry_after: int, in_200: bool) -> Response:
        if request.endpoint.startswith("tiktok.business"):
            return self.business(None, 40100, "Too many requests. Please retry later.")
        if request.endpoint.startswith("tiktok.oauth"):
            response = self.oauth_error(
                "rate_limit_exceeded",
                MESSAGES["rate_limit_exceeded"],
                200 if in_200 else 429,
            )
            response.throttled = True
            return response
        return self.envelope({}, "rate_limit_exceeded", 200 if in_200 else 429)

    def creds(self) -> dict[str, Any]:
        return self.config("credentials", "tiktok")

    def open_id(self, account: Account, client_key: str) -> str:
        # open_id differs per app (client_key); union_id is per developer.
        tag = stable_hash(self.sb.seed, "open_id", client_key, account.id) % 10**12
        return f"-000{tag:012d}{account.external_id[-6:]}"
