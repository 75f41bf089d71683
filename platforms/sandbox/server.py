"""A threaded WSGI server for the sandbox, able to drop connections on purpose."""

from __future__ import annotations

from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .core.http import SandboxDisconnect


class _Handler(ServerHandler):
    def handle_error(self) -> None:
        exc = self._exc()
        if isinstance(exc, SandboxDisconnect):
            # A fault asked for a dropped connection: send nothing at all.
            self.close()
            return
        super().handle_error()

    def _exc(self) -> BaseException | None:
        import sys

        return sys.exc_info()[1]


class _RequestHandler(WSGIRequestHandler):
    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["sandbox.served"] = True
        return environ

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Quiet: paths may carry access tokens in their query strings.
        return

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536 or not self.parse_request():
            return
        handler = _Handler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ()
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(host: str, port: int, app: Any) -> ThreadingWSGIServer:
    """Bind `app` on host:port (0 picks a free port); call serve_forever()."""
    server = ThreadingWSGIServer((host, port), _RequestHandler)
    server.set_app(app)
    return server
