"""Default sandbox configuration and the deep merge that applies overrides.

Every number the platforms publish (or that was reported but not confirmed)
lives here, so tests and demos can tighten or relax it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "clock": {
        # ISO-8601 instants; "frozen_at" wins over "start".
        "start": None,
        "frozen_at": None,
        # Sandbox seconds per real second while running (the demo uses 60).
        "speed": 1.0,
    },
    "world": {
        "accounts": {"tiktok": 3, "youtube": 3, "instagram": 3},
        "items_per_account": 120,
        "history_days": 180,
        # Defaults to the start of the current UTC day of the sandbox clock.
        "anchor": None,
        "story_every_hours": 6,
        "analytics_lag_hours": 48,
        # Share of TikTok video/list pages that come back short (has_more true).
        "short_page_rate": 0.3,
        # The first account's item #8 passes 2^31 views, so clients and
        # storage meet 64-bit counters; the demo turns it off, since a 3-billion
        # view post on a small account reads as a bug to a creator.
        "huge_counts": True,
    },
    "credentials": {
        "tiktok": {
            "client_key": "sandbox-tiktok-client-key",
            "client_secret": "sandbox-tiktok-client-secret",
            "approved_scopes": [
                "user.info.basic",
                "user.info.profile",
                "user.info.stats",
                "video.list",
            ],
        },
        "google": {
            "client_id": "sandbox-google-client-id",
            "client_secret": "sandbox-google-client-secret",
            "api_keys": ["sandbox-youtube-api-key"],
        },
        "facebook": {
            "app_id": "sandbox-facebook-app-id",
            "app_secret": "sandbox-facebook-app-secret",
        },
        # Empty list: any redirect URI is accepted (test servers use random ports).
        "redirect_uris": [],
    },
    "tokens": {
        "code_ttl": 600,
        # True: access-token lifetimes count real seconds, not sandbox ones
        # (for a fast clock, whose tokens would otherwise die 60x early).
        "real_time_ttl": False,
        # Docs disagree (24 h / 365 d vs 2 h / 180 d): configurable.
        "tiktok": {
            "access_ttl": 86400,
            "refresh_ttl": 31536000,
            "reuse_detection": False,
        },
        # refresh_ttl: null = no expiry; 604800 imitates an app in "Testing".
        "google": {"access_ttl": 3599, "refresh_ttl": None, "reuse_detection": False},
        "facebook": {"short_ttl": 5400, "long_ttl": 5183944},
    },
    "limits": {
        # Each Display API endpoint has its own window; "per": "app" | "token".
        "tiktok": {"window_seconds": 60, "per_endpoint": 600, "per": "app"},
        # Reported, not confirmed: 40 requests/minute per account per endpoint.
        "tiktok_business": {"window_seconds": 60, "per_endpoint": 40},
        "youtube": {
            "daily_quota": 10000,
            "quota_timezone": "America/Los_Angeles",
            "costs": {
                "youtube.channels": 1,
                "youtube.playlistItems": 1,
                "youtube.videos": 1,
                "youtube.commentThreads": 1,
                "default": 1,
            },
            # Short-term per-project limit (rateLimitExceeded).
            "rate_window_seconds": 100,
            "rate_per_window": 3000,
            "analytics_daily_quota": 100000,
            "analytics_cost": 1,
        },
        "graph": {
            "window_seconds": 3600,
            # X-App-Usage: 200 calls per user per hour.
            "app_calls_per_user": 200,
            # Code 17: per user token.
            "user_calls": 4800,
            # Code 32: calls touching the person's Pages (/me/accounts).
            "page_calls": 4800,
            # X-Business-Use-Case-Usage / code 80002, per IG account.
            "buc_calls": 4800,
            # business_discovery has its own bucket (code 613 when over).
            "discovery_calls": 200,
            "batch_max": 50,
            "regain_minutes": 60,
        },
        "retry_after_seconds": 60,
    },
    "faults": [],
    "timeout_seconds": 30.0,
    "request_log_size": 500,
}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of `base` with `override` merged in, dicts recursively."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(config: dict[str, Any] | str | Path | None) -> dict[str, Any]:
    """Merge a dict or a JSON file over the defaults."""
    if config is None:
        return copy.deepcopy(DEFAULTS)
    if isinstance(config, str | Path):
        config = json.loads(Path(config).read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise TypeError("sandbox config must be a dict or a path to a JSON file")
    return deep_merge(DEFAULTS, config)
