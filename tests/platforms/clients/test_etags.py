"""The process-wide ETag cache is bounded by bytes as well as by entries."""

from __future__ import annotations

import json

import pytest

from platforms.clients.etags import ETAGS, MAX_BYTES, ETagCache


def page(n: int, size: int = 1000) -> dict:
    """A reply whose compact JSON is about `size` bytes."""
    return {"items": [{"id": n, "text": "x" * size}]}


def stored_size(key: str, etag: str, payload: dict) -> int:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return len(key) + len(etag) + len(body.encode())


def test_the_process_wide_cache_holds_at_most_8_mib_by_default():
    assert ETAGS.max_bytes == MAX_BYTES == 8 * 1024 * 1024
    cache = ETagCache()
    # 16 MiB of 16 kB pages: the byte bound binds long before the entry one.
    for n in range(1024):
        cache.put(f"k{n}", f'"{n}"', page(n, 16 * 1024))
    assert cache.nbytes <= MAX_BYTES
    assert 400 <= len(cache) < cache.max_entries
    # What stays is the most recent pages.
    assert cache.keys()[-1] == "k1023" and "k0" not in cache


def test_it_evicts_the_least_recently_used_to_stay_under_its_bytes():
    one = stored_size("a", '"1"', page(1))
    cache = ETagCache(max_entries=100, max_bytes=2 * one + one // 2)
    cache.put("a", '"1"', page(1))
    cache.put("b", '"2"', page(2))
    assert cache.get("a") == ('"1"', page(1))  # a is now the newest

    cache.put("c", '"3"', page(3))

    assert cache.keys() == ["a", "c"]
    assert cache.nbytes == 2 * one
    assert cache.get("b") is None


def test_replacing_an_entry_counts_only_its_new_size():
    cache = ETagCache()
    for size in (5000, 3000, 100):
        cache.put("a", '"v"', page(1, size))

    assert len(cache) == 1
    assert cache.nbytes == stored_size("a", '"v"', page(1, 100))
    cache.clear()
    assert cache.nbytes == 0 and len(cache) == 0


def test_a_reply_larger_than_the_cache_is_not_kept_and_evicts_nothing():
    cache = ETagCache(max_bytes=4000)
    cache.put("small", '"1"', page(1, 100))
    cache.put("big", '"old"', page(2, 100))

    cache.put("big", '"new"', page(2, 10_000))

    # The small reply stays; the big key's older, now stale, reply is gone.
    assert cache.keys() == ["small"]
    assert cache.nbytes == stored_size("small", '"1"', page(1, 100))


def test_configure_shrinks_the_cache_to_fit_oldest_first():
    cache = ETagCache()
    for n in range(10):
        cache.put(f"k{n}", '"e"', page(n))
    one = stored_size("k0", '"e"', page(0))

    cache.configure(max_bytes=3 * one)
    assert cache.keys() == ["k7", "k8", "k9"]
    cache.configure(max_entries=1)
    assert cache.keys() == ["k9"] and cache.nbytes == one


def test_readers_get_their_own_copy_with_exact_numbers():
    cache = ETagCache()
    reply = {"items": [{"viewCount": 2**63 - 1, "ratio": 0.1, "title": "👩🏽‍💻 مرحبا"}]}
    cache.put("a", '"1"', reply)

    _, first = cache.get("a")
    first["items"].clear()

    assert cache.get("a") == ('"1"', reply)


@pytest.mark.django_db
def test_a_client_does_not_revalidate_a_reply_too_large_to_keep(
    sb, make_youtube, monkeypatch
):
    client = make_youtube(0)
    ids = client.list_upload_ids()[:50]
    monkeypatch.setattr(ETAGS, "max_bytes", 4000)
    ETAGS.clear()

    client.get_video_statistics(ids)  # about 8 kB: not kept
    client.get_video_statistics(ids)
    client.get_video_statistics(ids[:1])  # well under 4 kB: kept
    client.get_video_statistics(ids[:1])

    videos = sb.requests.recent(endpoint="youtube.videos")
    assert [r["status"] for r in videos] == [200, 200, 200, 304]
    assert ETAGS.nbytes <= 4000
