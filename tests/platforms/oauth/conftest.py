"""The sandbox on a loopback port, and settings pointing allauth at it.

allauth makes its token and profile calls with `requests`, and the connect
service with httpx: real HTTP to 127.0.0.1 reaches both without patching.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Every base URL the connect flow uses, and its sandbox path prefix.
URL_PREFIXES = {
    "TIKTOK_AUTH_URL": "tiktok-www",
    "TIKTOK_API_URL": "tiktok-open",
    "GOOGLE_AUTH_URL": "google-accounts",
    "GOOGLE_TOKEN_URL": "google-oauth2",
    "GOOGLE_USERINFO_URL": "google-openid",
    "YOUTUBE_API_URL": "google-apis",
    "FACEBOOK_WWW_URL": "facebook-www",
    "FACEBOOK_GRAPH_URL": "facebook-graph",
}


@dataclass(frozen=True)
class LoopbackSandbox:
    sandbox: Any  # platforms.sandbox.Sandbox
    url: str


@pytest.fixture(scope="session")
def loopback_sandbox() -> Iterator[LoopbackSandbox]:
    from platforms.sandbox import Sandbox
    from platforms.sandbox.server import make_server

    sandbox = Sandbox(seed=7)
    server = make_server("127.0.0.1", 0, sandbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LoopbackSandbox(sandbox, f"http://127.0.0.1:{server.server_port}")
    finally:
        sandbox.stop()
        server.shutdown()
        server.server_close()


@pytest.fixture
def sandbox(loopback_sandbox: LoopbackSandbox, settings: Any) -> Any:
    """A freshly reset sandbox that every platform URL points at."""
    loopback_sandbox.sandbox.reset()
    for name, prefix in URL_PREFIXES.items():
        setattr(settings, name, f"{loopback_sandbox.url}/{prefix}")
    return loopback_sandbox.sandbox


class TaskQueue:
    """The django-q2 broker queue (ORM or Redis), read back in tests."""

    def __init__(self) -> None:
        from django_q.brokers import get_broker

        self.broker = get_broker()

    def tasks(self) -> list[dict[str, Any]]:
        """Take every queued task off the queue, decoded."""
        from django_q.signing import SignedPackage

        tasks = []
        while self.broker.queue_size():
            for task_id, payload in self.broker.dequeue() or []:
                tasks.append(SignedPackage.loads(payload))
                if task_id is not None:
                    self.broker.acknowledge(task_id)
        return tasks


@pytest.fixture
def task_queue(db: Any) -> TaskQueue:
    queue = TaskQueue()
    queue.broker.purge_queue()
    return queue
