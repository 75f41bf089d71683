"""Synchronous client methods called from a coroutine: safe, same body, same result."""

from __future__ import annotations

import asyncio
import threading

import pytest

from platforms.clients.base import sync_api
from platforms.exceptions import TikTokAuthError
from platforms.models import ApiCallLog, ErrorLog

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _django_checks_async_use(monkeypatch):
    # The browser tests set this for Playwright; here Django must refuse.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)


def test_sync_methods_work_inside_a_running_event_loop(sb, make_tiktok):
    client = make_tiktok(0)
    expected = make_tiktok(0).get_user_metrics()

    async def main():
        user = client.get_user_metrics()  # not awaited: a plain call
        videos = client.list_videos(limit=3)
        collected = await client.collect_metrics(video_id=videos[0]["id"])
        return user, videos, collected

    user, videos, collected = asyncio.run(main())
    assert user == expected
    assert len(videos) == 3
    assert collected["metrics"]["view_count"] == videos[0]["view_count"]
    # Their database writes happened: one API call log row per request
    # (user/info twice, video/list, video/query).
    assert ApiCallLog.objects.filter(platform="tiktok").count() == 4


def test_errors_raised_off_the_loop_reach_the_caller_as_they_are(sb, make_tiktok):
    client = make_tiktok(0, access_token="not-a-token", refresh_token=None)

    async def main():
        with pytest.raises(TikTokAuthError) as caught:
            client.get_user_metrics()
        return caught.value

    error = asyncio.run(main())
    assert error.status == 401
    assert ErrorLog.objects.filter(platform="tiktok", error_class="auth").count() == 1


def test_the_wrapper_runs_in_place_outside_a_loop_and_off_it_inside():
    threads = []

    class Probe:
        @sync_api
        def where(self) -> str:
            threads.append(threading.current_thread())
            return "done"

    probe = Probe()
    assert probe.where() == "done"
    assert threads[-1] is threading.current_thread()

    async def main():
        return probe.where()

    assert asyncio.run(main()) == "done"
    assert threads[-1] is not threading.current_thread()


def test_every_public_sync_method_of_a_platform_client_is_wrapped(make_tiktok):
    from platforms import InstagramClient, TikTokClient, YouTubeClient

    for cls, name in (
        (TikTokClient, "get_video_metrics"),
        (TikTokClient, "get_access_token"),
        (YouTubeClient, "list_upload_ids"),
        (YouTubeClient, "authenticate"),  # from the base class
        (InstagramClient, "get_media_insights"),  # from a mixin
        (InstagramClient, "request"),  # from the pipeline mixin
    ):
        assert getattr(getattr(cls, name), "__sync_api__", False), (cls, name)
    # Coroutines stay coroutines.
    assert asyncio.iscoroutinefunction(TikTokClient.collect_metrics)
