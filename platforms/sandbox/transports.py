"""httpx transports that run the sandbox in-process.

Network faults have no socket to act on here, so the app raises
SandboxTimeout / SandboxDisconnect and these transports turn them into the
httpx exceptions a real connection would produce.
"""

from __future__ import annotations

import httpx

from .core.http import SandboxDisconnect, SandboxTimeout


class SandboxTransport(httpx.WSGITransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except SandboxTimeout as exc:
            raise httpx.ReadTimeout("sandbox: timed out", request=request) from exc
        except SandboxDisconnect as exc:
            raise httpx.RemoteProtocolError(
                "sandbox: server disconnected without sending a response",
                request=request,
            ) from exc


class AsyncSandboxTransport(httpx.ASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except SandboxTimeout as exc:
            raise httpx.ReadTimeout("sandbox: timed out", request=request) from exc
        except SandboxDisconnect as exc:
            raise httpx.RemoteProtocolError(
                "sandbox: server disconnected without sending a response",
                request=request,
            ) from exc
