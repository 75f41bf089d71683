"""Minimal request/response types for the sandbox's own WSGI router."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

STATUS_TEXT = {
    200: "OK",
    204: "No Content",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class SandboxDisconnect(Exception):  # noqa: N818 - it is a signal, not an error
    """Raised by a fault to close the connection without any response."""


class SandboxTimeout(SandboxDisconnect):
    """Raised by a fault to make the client wait until it gives up."""


def _first(values: dict[str, list[str]]) -> dict[str, str]:
    return {key: items[0] for key, items in values.items()}


class Request:
    """One incoming request, with the platform prefix already stripped."""

    def __init__(self, environ: dict[str, Any], path: str) -> None:
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        self.path = path
        self.query_string = environ.get("QUERY_STRING", "")
        self.query = _first(parse_qs(self.query_string, keep_blank_values=True))
        self._body: bytes | None = None
        self._form: dict[str, str] | None = None
        self.match: dict[str, str] = {}
        self.platform = ""
        self.endpoint = ""
        self.token: str | None = None
        # A fault the handler applied itself (a paging fault), for the log.
        self.fault: str | None = None

    def header(self, name: str, default: str = "") -> str:
        key = "HTTP_" + name.upper().replace("-", "_")
        if name.lower() == "content-type":
            key = "CONTENT_TYPE"
        return self.environ.get(key, default) or default

    @property
    def body(self) -> bytes:
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            stream = self.environ.get("wsgi.input")
            self._body = stream.read(length) if (stream and length > 0) else b""
        return self._body

    @property
    def form(self) -> dict[str, str]:
        if self._form is None:
            text = self.body.decode("utf-8", "replace")
            self._form = _first(parse_qs(text, keep_blank_values=True))
        return self._form

    def json(self) -> Any:
        """Parse the body as JSON, raising ValueError on anything else."""
        return json.loads(self.body.decode("utf-8") or "null")

    def params(self) -> dict[str, str]:
        """Query parameters, with form fields of a form POST merged over them."""
        merged = dict(self.query)
        if self.method == "POST" and "json" not in self.header("content-type"):
            merged.update(self.form)
        return merged

    def bearer(self) -> str | None:
        value = self.header("authorization")
        scheme, _, token = value.partition(" ")
        if scheme.lower() in {"bearer", "oauth"} and token.strip():
            return token.strip()
        return None


@dataclass
class Response:
    """A complete response; the body is bytes so faults can cut it."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Marks platform throttle replies for the request log.
    throttled: bool = False
    data: Any = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


def json_response(
    data: Any,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    throttled: bool = False,
) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    all_headers = [("Content-Type", "application/json; charset=UTF-8")]
    all_headers.extend(headers or [])
    return Response(status, body, all_headers, throttled=throttled, data=data)


def html_response(html: str, status: int = 200) -> Response:
    return Response(
        status, html.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")]
    )


def redirect(location: str) -> Response:
    return Response(302, b"", [("Location", location)])
