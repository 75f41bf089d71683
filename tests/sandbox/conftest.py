"""Fixtures for the sandbox tests: a seeded sandbox with a frozen clock."""

from __future__ import annotations

import httpx
import pytest

from platforms.sandbox import Sandbox

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
