"""A process-wide ETag cache for YouTube Data API replies.

Collectors build a new client for every run, so a cache held by one client
instance never revalidates anything. This one lives as long as the process
and is shared by every client in it: an LRU of `(etag, payload)` keyed by
who asked (the account, else a token or API key) and the request URL with
its parameters, bounded both by entries and by the bytes it holds, so a few
large replies cannot grow a worker without limit. The key is a SHA-256
digest of those parts, so no token or key is ever kept in clear text.
Payloads are kept as compact JSON: that is the size counted, it takes far
less memory than the parsed objects, and every reader gets its own copy, so
one caller cannot change what another reads.

Reference: https://developers.google.com/youtube/v3/getting-started#etags
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

#: Entries kept per process; a videos.list page of 50 ids is a few kB.
MAX_ENTRIES = 2048
#: Bytes kept per process (8 MiB): about 1,000 videos.list statistics pages
#: of 50 ids (8 kB each in the sandbox) or 130 uploads-playlist pages with
#: snippets (60 kB), small next to a worker's own memory.
MAX_BYTES = 8 * 1024 * 1024


def cache_key(identity: str, url: str, params: Mapping[str, Any]) -> str:
    """Digest of who asks and what: identity, URL and sorted parameters."""
    query = urlencode(sorted((str(k), str(v)) for k, v in params.items()))
    text = f"{identity}\n{url}?{query}"
    return hashlib.sha256(text.encode()).hexdigest()


class ETagCache:
    """A thread-safe LRU of `(etag, payload)` by `cache_key`, bounded by
    `max_entries` and by `max_bytes` (each entry's JSON, ETag and key)."""

    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
        return entry[0], json.loads(entry[1])

    def put(self, key: str, etag: str, payload: Any) -> None:
        """Keep `payload` under `key`, evicting the least recently used.

        A reply larger than the whole cache is not kept (it would push out
        everything else); any older reply under its key goes, being stale.
        """
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        stored = (etag, body.encode())
        size = _size(key, stored)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= _size(key, old)
            if size > self.max_bytes:
                return
            self._entries[key] = stored
            self._bytes += size
            self._evict()

    def configure(
        self, *, max_entries: int | None = None, max_bytes: int | None = None
    ) -> None:
        """Change the bounds (e.g. of the process-wide `ETAGS`); evicts to fit."""
        with self._lock:
            if max_entries is not None:
                self.max_entries = max_entries
            if max_bytes is not None:
                self.max_bytes = max_bytes
            self._evict()

    def _evict(self) -> None:
        while self._entries and (
            len(self._entries) > self.max_entries or self._bytes > self.max_bytes
        ):
            key, entry = self._entries.popitem(last=False)
            self._bytes -= _size(key, entry)

    @property
    def nbytes(self) -> int:
        """Bytes held now: every entry's JSON, ETag and key."""
        with self._lock:
            return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def keys(self) -> list[str]:
        """The cache keys, oldest first (digests: nothing secret in them)."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries


def _size(key: str, entry: tuple[str, bytes]) -> int:
    return len(key) + len(entry[0]) + len(entry[1])


#: The cache every YouTubeClient in this process shares.
ETAGS = ETagCache()
