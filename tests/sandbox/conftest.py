"""Fixtures for the sandbox tests: a seeded sandbox with a frozen clock."""

from __future__ import annotations

import threading

import httpx
import pytest

from platforms.sandbox import Sandbox
from platforms.sandbox.server import make_server

# A fixed instant keeps every number in these tests reproducible.
FROZEN_AT = "2026-06-15T12:00:00+00:00"


@pytest.fixture
def sb() -> Sandbox:
    return Sandbox(seed=42, config={"clock": {"frozen_at": FROZEN_AT}})


@pytest.fixture
def client(sb: Sandbox) -> httpx.Client:
    with httpx.Client(
        transport=sb.transport(), base_url="http://sandbox.test", follow_redirects=False
    ) as http:
        yield http


@pytest.fixture
def serve():
    """Serve a sandbox on a real loopback port (the threaded server); its base URL."""
    running = []

    def start(sandbox: Sandbox) -> str:
        server = make_server("127.0.0.1", 0, sandbox)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        thread.start()
        running.append((sandbox, server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for sandbox, server, thread in running:
        sandbox.stop()
        server.shutdown()
        server.server_close()
        thread.join()
