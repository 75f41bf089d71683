"""The platform registry: one explicit dict from platform id to client class.

A fourth platform is added by subclassing `BasePlatformClient` and adding
one entry here. Classes are imported on first use, so importing the
registry does not import httpx or every client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from platforms.clients.base import BasePlatformClient

CLIENTS: dict[str, str] = {
    "tiktok": "platforms.clients.tiktok.TikTokClient",
    "youtube": "platforms.clients.youtube.YouTubeClient",
    "instagram": "platforms.clients.instagram.InstagramClient",
}


def get_client_class(platform: str) -> type[BasePlatformClient]:
    """The client class registered for `platform`; KeyError if unknown."""
    return import_string(CLIENTS[platform])
