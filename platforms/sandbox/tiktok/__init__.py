"""TikTok: Login Kit v2, Display API v2 and the API for Business (accounts).

Hosts: www.tiktok.com → /tiktok-www, open.tiktokapis.com → /tiktok-open,
business-api.tiktok.com → /tiktok-business.
"""

from __future__ import annotations

from .service import TikTok

__all__ = ["TikTok"]
