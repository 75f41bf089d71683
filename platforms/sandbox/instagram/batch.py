"""Graph batch requests: up to 50 calls, each one counted on its own."""

from __future__ import annotations

import json
from typing import Any

from ..core.http import Request, Response, SandboxDisconnect, json_response
from .base import GraphBase


class GraphBatch(GraphBase):
    """POST / with batch=[...]."""

    def batch(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/graph-api/batch-requests
        params = request.params()
        try:
            calls = json.loads(params.get("batch", ""))
        except ValueError:
            return self.error(
                100, "(#100) The parameter batch is required and must be a JSON array"
            )
        if not isinstance(calls, list):
            return self.error(
                100, "(#100) The parameter batch is required and must be a JSON array"
            )
        if len(calls) > self.config("limits", "graph")["batch_max"]:
            return self.error(
                100,
                "(#100) Too many requests in batch message. Maximum batch size is 50",
            )
        token = params.get("access_token") or request.bearer() or ""
        replies = []
        for call in calls:
            replies.append(self._batch_call(request, call, token))
        return json_response(replies)

    def _batch_call(
        self, request: Request, call: Any, token: str
    ) -> dict[str, Any] | None:
        if not isinstance(call, dict) or "relative_url" not in call:
            return None
        path, _, query = str(call["relative_url"]).lstrip("/").partition("?")
        if "access_token=" not in query and token:
            query = (
                f"{query}&access_token={token}" if query else f"access_token={token}"
            )
        environ = {
            "REQUEST_METHOD": str(call.get("method", "GET")).upper(),
            "PATH_INFO": "/facebook-graph/" + path,
            "QUERY_STRING": query,
            "wsgi.input": None,
            "CONTENT_LENGTH": "0",
            "HTTP_HOST": request.environ.get("HTTP_HOST", "localhost"),
            "wsgi.url_scheme": request.environ.get("wsgi.url_scheme", "http"),
        }
        try:
            response = self.sb.handle(environ)
        except SandboxDisconnect:
            response = self.server_error(request, 500)
        headers = [{"name": k, "value": v} for k, v in response.headers]
        return {
            "code": response.status,
            "headers": headers,
            "body": response.body.decode("utf-8", "replace"),
        }
