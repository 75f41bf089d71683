"""Platform clients, limits, quota, collection and the sandbox.

The client classes are the public Python API::

    from platforms import TikTokClient, YouTubeClient, InstagramClient

They are imported lazily so that importing this Django app does not pull in
httpx and the clients before Django's app registry is ready.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY_EXPORTS = {
    "BasePlatformClient": "platforms.clients.base",
    "TikTokClient": "platforms.clients.tiktok",
    "YouTubeClient": "platforms.clients.youtube",
    "InstagramClient": "platforms.clients.instagram",
    # The errors the integration guide catches next to the clients.
    **{
        name: "platforms.exceptions"
        for name in (
            "PlatformError",
            "PlatformAuthError",
            "PlatformRateLimitError",
            "PlatformAPIError",
            "PlatformQuotaError",
            "PlatformDataError",
            "TikTokAuthError",
            "TikTokRateLimitError",
            "TikTokAPIError",
            "YouTubeAuthError",
            "YouTubeQuotaExceeded",
            "YouTubeAPIError",
            "InstagramAuthError",
            "InstagramRateLimitError",
            "InstagramAPIError",
        )
    },
}

__all__ = sorted(_LAZY_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'platforms' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
