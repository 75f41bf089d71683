"""The seeded world: determinism, growth, edge cases and lazy generation."""

from __future__ import annotations

import httpx

from platforms.sandbox import Sandbox
from platforms.sandbox.core import world as w

FROZEN = {"clock": {"frozen_at": "2026-06-15T12:00:00+00:00"}}


def stats(sb: Sandbox, platform: str = "youtube", count: int = 30) -> list[tuple]:
    account = sb.world.accounts(platform)[0]
    now = sb.clock.now()
    return [
        (item.external_id, item.views(now), item.count("likes", now), item.caption)
        for item in sb.world.items(account, now)
    ][:count]


def test_it_builds_the_same_world_from_the_same_seed():
    assert stats(Sandbox(seed=5, config=FROZEN)) == stats(
        Sandbox(seed=5, config=FROZEN)
    )
    assert stats(Sandbox(seed=5, config=FROZEN)) != stats(
        Sandbox(seed=6, config=FROZEN)
    )


def test_it_gives_the_same_numbers_at_the_same_clock_and_more_later(sb):
    first = stats(sb)
    again = stats(sb)
    sb.clock.advance(86400)
    later = stats(sb)

    assert first == again
    assert all(b[1] >= a[1] for a, b in zip(first, later, strict=True))
    assert sum(b[1] for b in later) > sum(a[1] for a in first)


def test_it_grows_followers_with_the_clock(sb):
    account = sb.world.accounts("instagram")[0]
    now = sb.clock.now()

    assert sb.world.followers(account, now + 30 * 86400) > sb.world.followers(
        account, now
    )


def test_it_has_heavy_tailed_views(sb):
    account = sb.world.accounts("tiktok")[0]
    views = sorted(i.final_views for i in sb.world.items(account, sb.clock.now()))

    median = views[len(views) // 2]
    assert views[-1] > 20 * median


def test_it_builds_a_large_world_lazily():
    # How fast this is goes in tests/benchmarks/test_sandbox_bench.py; here:
    # building 150,000 items' world makes none of them, a lookup makes one.
    big = Sandbox(
        seed=9,
        config={
            "world": {
                "accounts": {"tiktok": 10, "youtube": 10, "instagram": 10},
                "items_per_account": 5000,
            }
        },
    )
    made_at_start = big.world.item.cache_info().currsize
    account = big.world.accounts("youtube")[9]
    oldest = big.world.item(account, 4999)

    assert made_at_start == 0
    assert big.world.item_by_external("youtube", oldest.external_id) == oldest
    assert big.world.item.cache_info().currsize == 1


def test_it_round_trips_item_ids_and_rejects_forged_ones(sb):
    for platform in ("tiktok", "youtube", "instagram"):
        account = sb.world.accounts(platform)[1]
        item = sb.world.item(account, 17)
        assert sb.world.item_by_external(platform, item.external_id) is item
        forged = item.external_id[:-1] + ("1" if item.external_id[-1] != "1" else "2")
        assert sb.world.item_by_external(platform, forged) is None


def test_it_keeps_edge_cases_in_every_world(sb):
    now = sb.clock.now()
    yt = sb.world.accounts("youtube")
    tiktok = sb.world.accounts("tiktok")
    instagram = sb.world.accounts("instagram")
    captions = [sb.world.item(yt[0], i).caption for i in range(9)]

    assert sb.world.item(yt[0], w.HIDDEN_LIKES).hidden_likes
    assert sb.world.item(yt[0], w.COMMENTS_OFF).comments_off
    assert sb.world.item(yt[0], w.DELETED).deleted
    assert sb.world.item(yt[0], w.PRIVATE).private
    assert any(a.hidden_subscriber_count for a in yt)
    assert any("\u200d" in c for c in captions)  # ZWJ sequences
    assert any("\u0645" in c for c in captions)  # Arabic (RTL)
    assert max(len(c) for c in captions) == 5000
    assert sb.world.item(yt[0], w.HUGE).views(now) > 2**31
    assert now - sb.world.item(yt[0], w.NEWEST).posted_at < sb.world.analytics_lag
    assert {a.business for a in tiktok} == {True, False}
    assert any(sb.world.followers(a, now) < 100 for a in instagram)
    assert any(sb.world.stories(a, now) for a in instagram)


def test_it_lets_stories_expire_after_a_day(sb):
    account = sb.world.accounts("instagram")[0]
    now = sb.clock.now()
    live = sb.world.stories(account, now)

    later = sb.world.stories(account, now + 86400)

    assert live
    assert not set(live) & set(later)
    assert all(now - 86400 < sb.world.story_posted_at(account, s) <= now for s in live)


def test_it_serves_the_same_bytes_for_the_same_seed_and_clock():
    def body(seed):
        sb = Sandbox(seed=seed, config=FROZEN)
        token = sb.issue_tokens("tiktok", 0)["access_token"]
        client = httpx.Client(transport=sb.transport(), base_url="http://sandbox.test")
        reply = client.post(
            "/tiktok-open/v2/video/list/",
            params={"fields": "id,view_count,like_count,video_description"},
            json={"max_count": 20},
            headers={"Authorization": f"Bearer {token}"},
        )
        return reply.json()["data"]

    assert body(21) == body(21)


def test_the_huge_counter_can_be_turned_off_for_the_demo():
    quiet = Sandbox(seed=42, config={**FROZEN, "world": {"huge_counts": False}})
    now = quiet.clock.now()
    youtube = quiet.world.accounts("youtube")[0]
    assert quiet.world.item(youtube, w.HUGE).views(now) < 2**31
