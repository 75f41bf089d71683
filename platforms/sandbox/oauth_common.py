"""Helpers shared by the three OAuth imitations: PKCE and redirect URLs."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode, urlsplit, urlunsplit


def pkce_matches(
    challenge: str, method: str, verifier: str, *, allow_hex: bool
) -> bool:
    """Check a PKCE verifier; TikTok desktop is reported to use hex SHA-256."""
    if not method or method.lower() == "plain":
        return verifier == challenge
    digest = hashlib.sha256(verifier.encode()).digest()
    b64 = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return challenge == b64 or (allow_hex and challenge.lower() == digest.hex())


def with_query(url: str, params: dict[str, str]) -> str:
    """Append parameters to a redirect URI that may already carry a query."""
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def redirect_allowed(allowed: list[str], redirect_uri: str) -> bool:
    return bool(redirect_uri) and (not allowed or redirect_uri in allowed)
