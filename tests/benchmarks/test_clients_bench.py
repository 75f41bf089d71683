"""Platform clients: quota and requests per 1,000 videos, shared-limit throughput.

Prints figures (`make bench`); asserts only the issue's budgets: statistics
of 1,000 known YouTube videos cost exactly 20 units, 1,000 TikTok videos
take at most 50 requests, and 2 processes x 4 concurrent tasks reach at
least 95 % of the sandbox's per-endpoint limit R without one throttled reply.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings

from platforms import TikTokClient, YouTubeClient
from platforms.sandbox import Sandbox
from platforms.sandbox.server import make_server
from tests.platforms.shared_database import run_workers, shared_database_env

pytestmark = [pytest.mark.benchmark]

THOUSAND = {
    "world": {"items_per_account": 1000, "accounts": {"tiktok": 1, "youtube": 1}}
}
GENEROUS = {
    "video_query": "100000/m",
    "video_list": "100000/m",
    "video_metrics": "100000/d",
    "user_info": "100000/m",
    "user_metrics": "100000/d",
}


@pytest.mark.django_db
def test_statistics_of_1000_youtube_videos_cost_20_units():
    sb = Sandbox(seed=7, config=THOUSAND)
    reply = sb.issue_tokens("youtube", sb.world.accounts("youtube")[0].id)
    client = YouTubeClient(
        access_token=reply["access_token"],
        transport=sb.transport(),
        project="bench-youtube",
    )
    ids = client.list_upload_ids()
    listing = client.ledger.usage().units_used
    started = time.perf_counter()
    stats = client.get_video_statistics(ids)
    elapsed = time.perf_counter() - started
    units = client.ledger.usage().units_used - listing
    print(
        f"\nYouTube: {len(ids)} upload ids listed for {listing} units "
        f"(channels 1 + playlistItems {listing - 1} pages of 50); statistics of "
        f"{len(stats)} videos: {units} units in "
        f"{sb.requests.count(endpoint='youtube.videos')} videos.list calls, "
        f"{elapsed * 1000:.0f} ms in-process"
    )
    assert len(ids) == 1000
    assert units == 20


@pytest.mark.django_db
def test_metrics_of_1000_tiktok_videos_take_at_most_50_requests(settings):
    settings.PLATFORM_RATE_LIMITS = {"tiktok": GENEROUS}
    sb = Sandbox(seed=7, config=THOUSAND)
    reply = sb.issue_tokens("tiktok", sb.world.accounts("tiktok")[0].id)
    client = TikTokClient(access_token=reply["access_token"], transport=sb.transport())
    videos = client.list_videos()
    listed = sb.requests.count(endpoint="tiktok.video.list")
    refreshed = client.get_video_metrics([v["id"] for v in videos])
    queried = sb.requests.count(endpoint="tiktok.video.query")
    print(
        f"\nTikTok: {len(videos)} videos with their counts in {listed} video/list "
        f"requests; re-reading them by id took {queried} video/query requests "
        f"({sum(r['available'] for r in refreshed.values())} returned)"
    )
    assert len(videos) == 1000
    # Metrics of 1,000 known videos: 20 ids per video/query. Listing can
    # take a few more requests: TikTok pages may be short while has_more.
    assert queried <= 50


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_two_processes_reach_95_percent_of_a_shared_limit(tmp_path):
    limit, window, seconds = 240, 60, 60.0
    sb = Sandbox(
        seed=7,
        config={
            "limits": {"tiktok": {"window_seconds": window, "per_endpoint": limit}},
            "request_log_size": 10000,
        },
    )
    server = make_server("127.0.0.1", 0, sb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        reply = sb.issue_tokens("tiktok", sb.world.accounts("tiktok")[0].id)
        ids = [
            v.external_id
            for v in sb.world.items(sb.world.accounts("tiktok")[0], sb.clock.now())
        ][:40]
        env = shared_database_env(tmp_path / "db")
        env["TIKTOK_API_URL"] = (
            f"http://127.0.0.1:{server.server_address[1]}/tiktok-open"
        )
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        params = [
            {
                "access_token": reply["access_token"],
                "video_ids": ids,
                "tasks": 4,
                "seconds": seconds,
                "peers": 2,
                "name": name,
                "barrier": str(barrier),
                "rates": {**GENEROUS, "video_query": f"{limit}/{window}s"},
            }
            for name in ("a", "b")
        ]
        results = run_workers("tiktok_throughput", params, env, timeout=seconds + 120)
    finally:
        sb.stop()
        server.shutdown()
        server.server_close()
    log = [r for r in sb.requests.recent(endpoint="tiktok.video.query", limit=10000)]
    sent = len(log)
    span = max(r["at"] for r in log) - min(r["at"] for r in log)
    per_window = sent * window / max(span, 1e-9)
    throttled = sb.requests.throttled_count()
    backend = "Redis" if settings.REDIS_URL else "database"
    print(
        f"\nShared limit R={limit}/{window}s on tiktok.video.query, 2 processes x 4 "
        f"tasks, {backend} limiter: {sent} requests in {span:.1f} s = "
        f"{per_window:.1f} per window ({100 * per_window / limit:.1f} % of R), "
        f"{throttled} throttled; workers: {results}"
    )
    assert throttled == 0
    assert per_window >= 0.95 * limit
