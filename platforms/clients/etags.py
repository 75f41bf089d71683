"""A process-wide ETag cache for YouTube Data API replies.

Collectors build a new client for every run, so a cache held by one client
instance never revalidates anything. This one lives as long as the process
and is shared by every client in it: a bounded LRU of `(etag, payload)`
keyed by who asked (the account, else a token or API key) and the request
URL with its parameters. The key is a SHA-256 digest of those parts, so no
token or key is ever kept in clear text, and the payloads are copied in and
out, so one caller cannot change what another reads.

Reference: https://developers.google.com/youtube/v3/getting-started#etags
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

#: Entries kept per process; a videos.list page of 50 ids is a few kB.
MAX_ENTRIES = 2048


def cache_key(identity: str, url: str, params: Mapping[str, Any]) -> str:
    """Digest of who asks and what: identity, URL and sorted parameters."""
    query = urlencode(sorted((str(k), str(v)) for k, v in params.items()))
    text = f"{identity}\n{url}?{query}"
    return hashlib.sha256(text.encode()).hexdigest()


class ETagCache:
    """A thread-safe LRU of `(etag, payload)` by `cache_key`."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
        return entry[0], copy.deepcopy(entry[1])

    def put(self, key: str, etag: str, payload: Any) -> None:
        stored = (etag, copy.deepcopy(payload))
        with self._lock:
            self._entries[key] = stored
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

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


#: The cache every YouTubeClient in this process shares.
ETAGS = ETagCache()
