"""Collectors: walk one account on one platform and store what it says.

One collector per platform, each a small subclass of `BaseCollector`; the
registry below is the only place that maps a platform to its collector.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from platforms.collectors.base import BaseCollector
    from platforms.models import ConnectedAccount
    from platforms.services.collection import Progress

COLLECTORS: dict[str, str] = {
    "tiktok": "platforms.collectors.tiktok.TikTokCollector",
    "youtube": "platforms.collectors.youtube.YouTubeCollector",
    "instagram": "platforms.collectors.instagram.InstagramCollector",
}


def get_collector(
    *,
    account: ConnectedAccount,
    progress: Progress,
    fetched_at: dt.datetime,
    **kwargs: Any,
) -> BaseCollector:
    collector_class = import_string(COLLECTORS[account.platform])
    return collector_class(
        account=account, progress=progress, fetched_at=fetched_at, **kwargs
    )
