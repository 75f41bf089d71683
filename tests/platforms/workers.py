"""Worker processes for the cross-process tests and the benchmark.

Run as `python -m tests.platforms.workers <task> '<json params>'`; prints
one JSON line with the result.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import django


def wait_for_peers(barrier_dir: str | None, peers: int, me: str) -> None:
    """Start together: touch my file, then wait until every peer has one."""
    if not barrier_dir:
        return
    folder = Path(barrier_dir)
    (folder / me).touch()
    deadline = time.monotonic() + 30
    while len(list(folder.iterdir())) < peers and time.monotonic() < deadline:
        time.sleep(0.005)


def take_slots(params: dict[str, Any]) -> dict[str, Any]:
    """Try `attempts` times to take up to `n` (default 1) slots; count grants."""
    from platforms.exceptions import PlatformRateLimitError
    from platforms.ratelimit import BucketSpec, DatabaseLimiter, Rate, RedisLimiter

    rate = Rate.parse(params["rate"])
    spec = BucketSpec(
        key=params["key"], platform="tiktok", endpoint_class="test", rate=rate
    )
    if params["backend"] == "redis":
        limiter = RedisLimiter(
            params["redis_url"], prefix=params["prefix"], max_inline_wait=0
        )
    else:
        limiter = DatabaseLimiter(max_inline_wait=0)
    wait_for_peers(params.get("barrier"), params["peers"], params["name"])
    granted = 0
    for _ in range(params["attempts"]):
        try:
            taken = limiter.acquire_up_to([spec], params.get("n", 1), platform="tiktok")
        except PlatformRateLimitError:
            continue
        granted += taken
    return {"granted": granted}


def charge_quota(params: dict[str, Any]) -> dict[str, Any]:
    """Charge one unit `attempts` times; count the charges that went through."""
    from platforms.exceptions import YouTubeQuotaExceeded
    from platforms.quota import QuotaLedger

    ledger = QuotaLedger(
        platform="youtube", project=params["project"], daily_limit=params["limit"]
    )
    wait_for_peers(params.get("barrier"), params["peers"], params["name"])
    granted = 0
    for _ in range(params["attempts"]):
        try:
            ledger.charge(1)
            granted += 1
        except YouTubeQuotaExceeded:
            pass
    return {"granted": granted}


def tiktok_throughput(params: dict[str, Any]) -> dict[str, Any]:
    """`tasks` concurrent collect_metrics loops until `seconds` have passed."""
    import asyncio

    from django.conf import settings

    from platforms import TikTokClient
    from platforms.exceptions import PlatformError

    settings.PLATFORM_RATE_LIMITS = {"tiktok": params["rates"]}
    client = TikTokClient(access_token=params["access_token"])
    ids = params["video_ids"]
    wait_for_peers(params.get("barrier"), params["peers"], params["name"])
    deadline = time.monotonic() + params["seconds"]
    done = {"ok": 0, "errors": 0}

    async def loop(task: int) -> None:
        n = task
        while time.monotonic() < deadline:
            try:
                await client.collect_metrics(video_id=ids[n % len(ids)])
                done["ok"] += 1
            except PlatformError:
                done["errors"] += 1
            n += params["tasks"]

    async def main() -> None:
        await asyncio.gather(*(loop(t) for t in range(params["tasks"])))

    asyncio.run(main())
    return done


def shared_client_refresh(params: dict[str, Any]) -> dict[str, Any]:
    """Four concurrent tasks share one client whose token the platform expired."""
    import asyncio

    from django.conf import settings

    from platforms import TikTokClient
    from platforms.sandbox import Sandbox

    settings.PLATFORM_RATE_LIMITS = {"tiktok": params["rates"]}
    sb = Sandbox(seed=42, config={"clock": {"frozen_at": "2026-06-15T12:00:00+00:00"}})
    reply = sb.issue_tokens("tiktok", sb.world.accounts("tiktok")[0].id)
    client = TikTokClient(
        access_token=reply["access_token"],
        refresh_token=reply["refresh_token"],
        transport=sb.transport(),
    )
    video_id = client.list_videos(limit=1)[0]["id"]
    sb.clock.advance(86400 + 60)  # the platform now refuses the access token

    async def main() -> list[dict]:
        return await asyncio.gather(
            *(client.collect_metrics(video_id=video_id) for _ in range(4))
        )

    results = asyncio.run(main())
    return {
        "token_calls": sb.requests.count(endpoint="tiktok.oauth.token"),
        "rejected": sb.requests.count(endpoint="tiktok.video.query", status=401),
        "views": [r["metrics"]["view_count"] for r in results],
    }


def store_tiktok_account(params: dict[str, Any]) -> dict[str, Any]:
    """Connect one served-sandbox TikTok account whose access token lapsed."""
    import datetime as dt

    import httpx
    from django.contrib.auth import get_user_model

    from platforms.models import ConnectedAccount, Credential
    from platforms.tokens import save_token_reply

    with httpx.Client(base_url=params["sandbox_url"], timeout=10) as sandbox:
        reply = sandbox.post(
            "/_sandbox/tokens", json={"platform": "tiktok", "account": "tiktok-0"}
        ).raise_for_status()
    owner = get_user_model().objects.create_user(
        username=params["username"], password="pw-workers-1"
    )
    account = ConnectedAccount.objects.create(
        owner=owner, platform="tiktok", platform_user_id=reply.json()["open_id"]
    )
    save_token_reply(account, reply.json())
    # As if a day had passed: the stored access token has expired.
    Credential.objects.filter(account=account).update(
        access_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    )
    credential = Credential.objects.get(account=account)
    return {
        "account": account.pk,
        "access": token_fingerprint(credential.access_token),
        "refresh": token_fingerprint(credential.refresh_token),
    }


def token_fingerprint(token: str) -> str:
    from platforms.clients.credentials import token_digest

    return token_digest(token)


def refresh_stored_account(params: dict[str, Any]) -> dict[str, Any]:
    """Read the account's profile; its expired token is refreshed on the way."""
    from django.db import connection

    from platforms import TikTokClient
    from platforms.models import ConnectedAccount, Credential

    account = ConnectedAccount.objects.get(pk=params["account"])
    connection.close()  # each worker opens its own connection at the barrier
    wait_for_peers(params.get("barrier"), params["peers"], params["name"])
    with TikTokClient(account=account) as client:
        profile = client.get_user_metrics()
        used = client._access_token or ""
    stored = Credential.objects.get(account=account)
    return {
        "followers": profile["metrics"].get("follower_count"),
        "used": token_fingerprint(used),
        "stored": token_fingerprint(stored.access_token),
        "stored_refresh": token_fingerprint(stored.refresh_token),
        "lease_left": bool(stored.refresh_lease),
    }


TASKS = {
    "store_tiktok_account": store_tiktok_account,
    "refresh_stored_account": refresh_stored_account,
    "shared_client_refresh": shared_client_refresh,
    "take_slots": take_slots,
    "charge_quota": charge_quota,
    "tiktok_throughput": tiktok_throughput,
}


def main() -> None:
    task, raw = sys.argv[1], sys.argv[2]
    django.setup()
    print(json.dumps(TASKS[task](json.loads(raw))))


if __name__ == "__main__":
    main()
