"""Authorization codes, access and refresh tokens, grouped in families.

A family is everything that descends from one authorization: revoking it (by
the revoke endpoint, a fault, or refresh-token reuse detection) kills every
token in it at once, as the platforms do.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field


def fingerprint(token: str) -> str:
    """A short, one-way label for a token: safe to log and to show."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:12]
    return f"{token[:4]}…{digest}"


@dataclass
class Grant:
    """What the person approved on a consent page."""

    platform: str
    client_id: str
    account_id: str
    scopes: list[str]
    redirect_uri: str
    code_challenge: str = ""
    code_challenge_method: str = ""
    expires_at: float = 0.0
    used: bool = False
    # Google: whether the code exchange returns a refresh token.
    offline: bool = False


@dataclass
class Token:
    value: str
    kind: str  # "access" | "refresh"
    platform: str
    client_id: str
    account_id: str
    scopes: list[str]
    family: str
    expires_at: float | None
    revoked: bool = False
    # A refresh token that was exchanged already (TikTok rotation).
    rotated: bool = False
    long_lived: bool = False

    def is_valid(self, now: float) -> bool:
        expired = self.expires_at is not None and now >= self.expires_at
        return not (self.revoked or self.rotated or expired)


@dataclass
class TokenStore:
    """Thread-safe storage of codes and tokens, with deterministic values."""

    seed: int
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    families: dict[str, list[str]] = field(default_factory=dict)
    # (platform, client_id, account_id) pairs that consented before (Google).
    consented: set[tuple[str, str, str]] = field(default_factory=set)
    _counter: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Per (platform, client_id), per account: the expiry of each token that is
    # neither revoked nor rotated, and the latest of them. Counting an app's
    # users then costs O(its accounts), never O(every token ever issued).
    _held: dict[tuple[str, str, str], dict[str, float]] = field(default_factory=dict)
    _latest: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def new_value(self, prefix: str, length: int = 40) -> str:
        with self.lock:
            self._counter += 1
            counter = self._counter
        digest = hashlib.sha256(f"{self.seed}:{prefix}:{counter}".encode()).hexdigest()
        return prefix + digest[:length]

    def add_code(self, grant: Grant, prefix: str) -> str:
        code = self.new_value(prefix, 32)
        with self.lock:
            self.codes[code] = grant
        return code

    def take_code(self, code: str) -> tuple[Grant | None, str]:
        """Mark a code as used; return (grant, problem) with problem "" when fine."""
        with self.lock:
            grant = self.codes.get(code)
            if grant is None:
                return None, "unknown"
            if grant.used:
                return grant, "used"
            grant.used = True
            return grant, ""

    def issue(
        self,
        *,
        prefix: str,
        kind: str,
        platform: str,
        client_id: str,
        account_id: str,
        scopes: list[str],
        family: str | None,
        expires_at: float | None,
        long_lived: bool = False,
    ) -> Token:
        value = self.new_value(prefix)
        token = Token(
            value=value,
            kind=kind,
            platform=platform,
            client_id=client_id,
            account_id=account_id,
            scopes=list(scopes),
            family=family or value,
            expires_at=expires_at,
            long_lived=long_lived,
        )
        with self.lock:
            self.tokens[value] = token
            self.families.setdefault(token.family, []).append(value)
            expiry = math.inf if expires_at is None else expires_at
            self._held.setdefault((platform, client_id, account_id), {})[value] = expiry
            latest = self._latest.setdefault((platform, client_id), {})
            latest[account_id] = max(latest.get(account_id, -math.inf), expiry)
        return token

    def _release(self, token: Token) -> None:
        """Forget a token that can never be valid again (lock held)."""
        key = (token.platform, token.client_id, token.account_id)
        held = self._held.get(key)
        if held is None or held.pop(token.value, None) is None:
            return
        latest = self._latest[(token.platform, token.client_id)]
        if held:
            latest[token.account_id] = max(held.values())
        else:
            del self._held[key]
            del latest[token.account_id]

    def mark_rotated(self, token: Token) -> None:
        """A refresh token was exchanged: it stops working (TikTok rotation)."""
        with self.lock:
            token.rotated = True
            self._release(token)

    def live_accounts(self, platform: str, client_id: str, now: float) -> int:
        """How many accounts hold a valid token of this app at `now`."""
        with self.lock:
            latest = self._latest.get((platform, client_id), {})
            return sum(1 for expiry in latest.values() if expiry > now)

    def get(self, value: str | None) -> Token | None:
        if not value:
            return None
        return self.tokens.get(value)

    def revoke_family(self, family: str) -> int:
        """Revoke every token of a family; return how many were alive."""
        with self.lock:
            alive = 0
            for value in self.families.get(family, []):
                token = self.tokens[value]
                alive += not token.revoked
                token.revoked = True
                self._release(token)
            return alive

    def clear(self) -> None:
        with self.lock:
            self.codes.clear()
            self.tokens.clear()
            self.families.clear()
            self.consented.clear()
            self._held.clear()
            self._latest.clear()
