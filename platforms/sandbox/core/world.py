"""The seeded world: creator accounts and their items, generated on demand.

Every attribute is a pure function of (seed, account, item index), and every
counter a pure function of those plus the sandbox time, so two reads at the
same clock give the same numbers and a world of 50,000 items costs nothing
until an item is looked at.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

PLATFORMS = ("tiktok", "youtube", "instagram")
BRANDS = {"tiktok": "TikTok", "youtube": "YouTube", "instagram": "Instagram"}
DAY = 86400.0
VISIBILITIES = ("public", "private", "deleted")

# Item indexes (0 = newest) that carry an edge case on every account.
NEWEST, HIDDEN_LIKES, COMMENTS_OFF, DELETED, PRIVATE, EMOJI, RTL, LONG, HUGE = range(9)

EMOJI_CAPTION = "Family day 👨‍👩‍👧‍👦 coding with 👩🏽‍💻 and 🏳️‍🌈 flags 🎉🔥 #vlog"
RTL_CAPTION = "مرحبا بالعالم — שלום עולם — review of the new camera 📷"
WORDS = (
    "morning routine",
    "studio tour",
    "recipe",
    "behind the scenes",
    "Q&A",
    "travel diary",
    "tutorial",
    "unboxing",
    "challenge",
    "storytime",
    "week in review",
    "setup",
)


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts that does not change between processes."""
    text = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def unit(*parts: object) -> float:
    """A deterministic number in [0, 1)."""
    return stable_hash(*parts) / 2.0**64


def iso_z(epoch: float) -> str:
    """Google style: 2019-03-21T20:37:49Z."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_graph(epoch: float) -> str:
    """Graph style: 2019-04-05T07:56:32+0000."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass(frozen=True)
class Account:
    """One sandbox creator on one platform."""

    id: str
    platform: str
    index: int
    handle: str
    display_name: str
    item_count: int
    followers_base: int
    followers_per_day: float
    business: bool = True
    has_stories: bool = False
    hidden_subscriber_count: bool = False
    # Instagram: media posted before this moment predate the business account.
    converted_at: float = 0.0
    external_id: str = ""
    page_id: str = ""
    user_id: str = ""
    created_at: float = 0.0
    flags: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def under_100_followers(self) -> bool:
        return self.followers_base < 100


@dataclass(frozen=True)
class Item:
    """One video, reel or post; counters grow with the clock."""

    account: Account
    index: int
    external_id: str
    posted_at: float
    final_views: float
    tau_days: float
    rates: dict[str, float]
    duration: int
    title: str
    caption: str
    hidden_likes: bool = False
    comments_off: bool = False
    deleted: bool = False
    private: bool = False
    media_type: str = "VIDEO"
    product_type: str = "REELS"

    def progress(self, now: float) -> float:
        """Share of the lifetime views reached at `now` (grows for ever, slowly).

        Counters move once a minute, as the platforms' cached counts do, so
        two reads in the same minute agree (and ETags match).
        """
        age_days = (now - now % 60 - self.posted_at) / DAY
        if age_days <= 0:
            return 0.0
        return (1.0 - math.exp(-age_days / self.tau_days)) + 0.002 * age_days

    def views(self, now: float) -> int:
        return int(self.final_views * self.progress(now))

    def count(self, metric: str, now: float) -> int:
        """A counter such as likes, comments, shares or saves at `now`."""
        if metric == "views":
            return self.views(now)
        return int(self.final_views * self.rates.get(metric, 0.0) * self.progress(now))

    def views_between(self, start: float, end: float) -> int:
        return max(0, self.views(end) - self.views(start))

    def is_visible(self, now: float) -> bool:
        return self.posted_at <= now

    @property
    def public(self) -> bool:
        """Neither deleted nor private: what the APIs show to everyone."""
        return not (self.deleted or self.private)


class World:
    """All sandbox accounts and a lazy view of their items."""

    def __init__(self, seed: int, config: dict[str, Any], now: float) -> None:
        self.seed = seed
        self.config = config
        anchor = config.get("anchor")
        if anchor:
            self.anchor = datetime.fromisoformat(
                str(anchor).replace("Z", "+00:00")
            ).timestamp()
        else:
            self.anchor = math.floor(now / DAY) * DAY
        self.items_per_account = int(config["items_per_account"])
        self.huge_counts = bool(config.get("huge_counts", True))
        self.history_days = float(config["history_days"])
        self.analytics_lag = float(config["analytics_lag_hours"]) * 3600
        self.story_every = float(config["story_every_hours"]) * 3600
        self._accounts: dict[str, list[Account]] = {
            platform: [
                self._make_account(platform, index)
                for index in range(int(config["accounts"].get(platform, 0)))
            ]
            for platform in PLATFORMS
        }
        self._by_id = {a.id: a for accs in self._accounts.values() for a in accs}
        self._by_external = {
            (a.platform, a.external_id): a for a in self._by_id.values()
        }
        self.item = lru_cache(maxsize=65536)(self._make_item)
        # Visibility the creator changed (set_visibility), by (platform, id);
        # a change clears the item cache, so reads cost nothing extra.
        self._changed: dict[tuple[str, str], str] = {}
        # Binary searches hit the same few posting times over and over.
        self._posted: dict[tuple[str, int], float] = {}

    # --- accounts -------------------------------------------------------

    def accounts(self, platform: str) -> list[Account]:
        return list(self._accounts.get(platform, []))

    def account(self, account_id: str) -> Account | None:
        return self._by_id.get(account_id)

    def account_by_external(self, platform: str, external_id: str) -> Account | None:
        return self._by_external.get((platform, external_id))

    def _make_account(self, platform: str, index: int) -> Account:
        rng = random.Random(stable_hash(self.seed, "account", platform, index))
        small = index % 3 == 2
        followers = rng.randint(40, 90) if small else int(rng.lognormvariate(10, 1.2))
        handle = f"sandbox_{platform}_{index}"
        common: dict[str, Any] = {
            "id": f"{platform}-{index}",
            "platform": platform,
            "index": index,
            "handle": handle,
            "display_name": f"Sandbox {BRANDS[platform]} Creator {index}",
            "item_count": self.items_per_account,
            "followers_base": max(followers, 0),
            "followers_per_day": 0.15
            if small
            else followers * rng.uniform(0.001, 0.01),
            "created_at": self.anchor - (self.history_days + 400) * DAY,
        }
        tag = stable_hash(self.seed, platform, index) % 10**8
        if platform == "tiktok":
            return Account(
                **common,
                business=index % 3 != 1,
                external_id=f"-000{tag:08d}-sb{index:03d}",
            )
        if platform == "youtube":
            body = hashlib.sha256(f"{self.seed}:{index}".encode()).hexdigest()
            return Account(
                **common,
                hidden_subscriber_count=index % 3 == 1,
                external_id="UC" + _b64ish(body, 22),
            )
        converted = common["created_at"]
        if index % 3 == 1:
            # Converted to business halfway through its history.
            converted = self.anchor - self.history_days / 2 * DAY
        return Account(
            **common,
            has_stories=index % 3 == 0,
            converted_at=converted,
            external_id=f"178414{tag:08d}{index:03d}",
            page_id=f"1000{tag:08d}{index:03d}",
            user_id=f"10{tag:08d}{index:05d}",
        )

    # --- items ----------------------------------------------------------

    def posted_at(self, account: Account, index: int) -> float:
        """Items are evenly spread, newest first, with per-item jitter."""
        key = (account.id, index)
        cached = self._posted.get(key)
        if cached is None:
            cached = self._posted[key] = self._posted_at(account, index)
        return cached

    def _posted_at(self, account: Account, index: int) -> float:
        if index == NEWEST:
            return self.anchor - 3 * 3600
        span = self.history_days * DAY / max(account.item_count, 1)
        jitter = unit(self.seed, "t", account.id, index) * 0.8 * span
        return self.anchor - 6 * 3600 - (index - 1) * span - jitter

    def first_visible(self, account: Account, now: float) -> int:
        """Index of the newest item already posted at `now` (binary search)."""
        lo, hi = 0, account.item_count
        while lo < hi:
            mid = (lo + hi) // 2
            if self.posted_at(account, mid) <= now:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def first_before(self, account: Account, moment: float) -> int:
        """Index of the newest item posted strictly before `moment`."""
        lo, hi = 0, account.item_count
        while lo < hi:
            mid = (lo + hi) // 2
            if self.posted_at(account, mid) < moment:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def item_by_external(self, platform: str, external_id: str) -> Item | None:
        decoded = decode_item_id(self.seed, platform, external_id)
        if decoded is None:
            return None
        account_index, index = decoded
        accounts = self._accounts.get(platform, [])
        if (
            account_index >= len(accounts)
            or index >= accounts[account_index].item_count
        ):
            return None
        return self.item(accounts[account_index], index)

    def set_visibility(self, platform: str, external_id: str, visibility: str) -> Item:
        """The creator deletes, privatises or republishes an item.

        "public" also republishes the world's own deleted and private
        placeholders. Raises ValueError for an unknown visibility and
        KeyError for an unknown item.
        """
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
        if self.item_by_external(platform, external_id) is None:
            raise KeyError(f"no sandbox {platform} item {external_id!r}")
        self._changed[(platform, external_id)] = visibility
        self.item.cache_clear()
        item = self.item_by_external(platform, external_id)
        assert item is not None
        return item

    def changed_visibility(self) -> list[dict[str, str]]:
        return [
            {"platform": platform, "item": external_id, "visibility": visibility}
            for (platform, external_id), visibility in self._changed.items()
        ]

    def reset_visibility(self) -> None:
        if self._changed:
            self._changed.clear()
            self.item.cache_clear()

    def _make_item(self, account: Account, index: int) -> Item:
        platform = account.platform
        rng = random.Random(stable_hash(self.seed, "item", account.id, index))
        mu = {"tiktok": 8.8, "youtube": 8.0, "instagram": 7.8}[platform]
        final_views = rng.lognormvariate(mu, 1.6)
        if rng.random() < 0.03:
            # Heavy tail: the occasional hit.
            final_views *= rng.paretovariate(1.2) * 20
        if index == HUGE and account.index == 0 and self.huge_counts:
            final_views = 3.2e9
        rates = _engagement(platform, rng)
        topic = WORDS[rng.randrange(len(WORDS))]
        title = f"{topic.title()} #{account.item_count - index}"
        caption = f"{title} — {rng.choice(('✨', '🔥', '🎬', '☕', '🌊'))} #sandbox"
        if index == EMOJI:
            caption = title = EMOJI_CAPTION
        elif index == RTL:
            caption = title = RTL_CAPTION
        elif index == LONG:
            limit = {"youtube": 5000, "tiktok": 4000, "instagram": 2200}[platform]
            caption = _long_text(limit)
        media_type, product_type = "VIDEO", "REELS"
        if platform == "instagram":
            roll = rng.random()
            if roll < 0.35:
                media_type, product_type = "IMAGE", "FEED"
            elif roll < 0.6:
                media_type, product_type = "CAROUSEL_ALBUM", "FEED"
        external_id = encode_item_id(self.seed, platform, account.index, index)
        deleted = platform == "youtube" and index == DELETED
        private = platform == "youtube" and index == PRIVATE
        changed = self._changed.get((platform, external_id)) if self._changed else None
        if changed is not None:
            deleted, private = changed == "deleted", changed == "private"
        return Item(
            account=account,
            index=index,
            external_id=external_id,
            posted_at=self.posted_at(account, index),
            final_views=final_views,
            tau_days=rng.uniform(1.5, 8.0),
            rates=rates,
            duration=rng.randint(8, 180)
            if platform != "youtube"
            else rng.randint(30, 1800),
            title=title[:100],
            caption=caption,
            hidden_likes=index == HIDDEN_LIKES,
            comments_off=index == COMMENTS_OFF,
            deleted=deleted,
            private=private,
            media_type=media_type,
            product_type=product_type,
        )

    def items(self, account: Account, now: float, start: int = 0):
        """Visible items of `account`, newest first, from position `start`."""
        for index in range(
            max(start, self.first_visible(account, now)), account.item_count
        ):
            yield self.item(account, index)

    # --- account-level series --------------------------------------------

    def followers(self, account: Account, now: float) -> int:
        days = (now - self.anchor) / DAY
        return max(0, int(account.followers_base + account.followers_per_day * days))

    def daily_value(self, account: Account, metric: str, day_start: float) -> int:
        """A plausible account-wide daily number, stable for each (metric, day)."""
        base = account.followers_base * 0.4 + 50
        scale = {
            "views": 1.0,
            "reach": 0.7,
            "likes": 0.06,
            "comments": 0.006,
            "shares": 0.008,
            "saves": 0.01,
            "profile_views": 0.02,
            "follows": 0.004,
            "lost": 0.001,
            "watch_minutes": 0.9,
        }.get(metric, 0.05)
        day = int(day_start // DAY)
        weekly = 1 + 0.15 * math.sin(2 * math.pi * day / 7)
        noise = 0.6 + 0.8 * unit(self.seed, "daily", account.id, metric, day)
        return int(base * scale * weekly * noise)

    def distribution(self, account: Account, dimension: str) -> list[tuple[str, float]]:
        """Audience shares for a dimension, summing to 100."""
        values = AUDIENCE[dimension]
        weights = [
            (1 + 4 * unit(self.seed, "aud", account.id, dimension, v)) / (i + 1)
            for i, v in enumerate(values)
        ]
        total = sum(weights)
        return [
            (v, round(100 * w / total, 2)) for v, w in zip(values, weights, strict=True)
        ]

    # --- stories (Instagram) ---------------------------------------------

    def stories(self, account: Account, now: float) -> list[int]:
        """Slots of the stories live at `now` (posted in the last 24 h)."""
        if not account.has_stories:
            return []
        every = self.story_every
        newest = math.floor((now - self.anchor) / every)
        oldest = math.floor((now - DAY - self.anchor) / every)
        return [
            slot
            for slot in range(newest, oldest - 1, -1)
            if now - DAY < self.story_posted_at(account, slot) <= now
        ]

    def story_posted_at(self, account: Account, slot: int) -> float:
        jitter = unit(self.seed, "story", account.id, slot) * 0.5 * self.story_every
        return self.anchor + slot * self.story_every + jitter

    def story_viewers(self, account: Account, slot: int) -> int:
        if slot % 4 == 1:
            return 3  # Too few viewers for insights.
        return 20 + int(unit(self.seed, "viewers", account.id, slot) * 400)


AUDIENCE: dict[str, tuple[str, ...]] = {
    "country": ("US", "GB", "DE", "BR", "IN", "FR", "ES", "MX", "CA", "JP"),
    "city": (
        "Los Angeles, California",
        "London, England",
        "Berlin, Berlin",
        "São Paulo, São Paulo",
        "Mumbai, Maharashtra",
        "Paris, Île-de-France",
    ),
    "age": ("18-24", "25-34", "35-44", "45-54", "13-17", "55-64", "65+"),
    "gender": ("F", "M", "U"),
    "ageGroup": (
        "age18-24",
        "age25-34",
        "age35-44",
        "age45-54",
        "age13-17",
        "age55-64",
        "age65-",
    ),
    "yt_gender": ("female", "male", "user_specified"),
    "traffic": (
        "YT_SEARCH",
        "RELATED_VIDEO",  # suggested videos
        "SUBSCRIBER",  # browse features: home, subscriptions feed
        "EXT_URL",
        "PLAYLIST",
        "NOTIFICATION",
        "SHORTS",
    ),
    "impression_source": ("For You", "Follow", "Personal Profile", "Search", "Sound"),
}


def _engagement(platform: str, rng: random.Random) -> dict[str, float]:
    if platform == "tiktok":
        return {
            "likes": rng.uniform(0.06, 0.12),
            "comments": rng.uniform(0.002, 0.008),
            "shares": rng.uniform(0.003, 0.015),
            "saves": rng.uniform(0.005, 0.02),
            "reach": rng.uniform(0.6, 0.85),
        }
    if platform == "youtube":
        return {
            "likes": rng.uniform(0.02, 0.05),
            "comments": rng.uniform(0.001, 0.005),
            "shares": rng.uniform(0.001, 0.004),
            "subscribers": rng.uniform(0.001, 0.004),
        }
    return {
        "likes": rng.uniform(0.04, 0.1),
        "comments": rng.uniform(0.002, 0.01),
        "shares": rng.uniform(0.003, 0.01),
        "saves": rng.uniform(0.005, 0.02),
        "reach": rng.uniform(0.6, 0.8),
        "follows": rng.uniform(0.0005, 0.002),
        "profile_visits": rng.uniform(0.005, 0.02),
    }


def _long_text(limit: int) -> str:
    sentence = "Long caption with every detail of the shoot, gear and music 🎶. "
    text = sentence * (limit // len(sentence) + 1)
    return text[:limit]


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_VALUE = {char: value for value, char in enumerate(_B64)}


def _b64ish(hexdigest: str, length: int) -> str:
    number = int(hexdigest, 16)
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 64)
        chars.append(_B64[rest])
    return "".join(chars)


def _check(seed: int, platform: str, account: int, index: int, modulo: int) -> int:
    return stable_hash(seed, "id", platform, account, index) % modulo


def encode_item_id(seed: int, platform: str, account: int, index: int) -> str:
    """An id in the platform's own format that encodes (account, index)."""
    if platform == "tiktok":
        check = _check(seed, platform, account, index, 10**4)
        return f"71{check:04d}{account:03d}{index:010d}"
    if platform == "instagram":
        check = _check(seed, platform, account, index, 10**4)
        return f"179{check:04d}{account:03d}{index:07d}"
    number = (
        (account << 40)
        | (index << 16)
        | _check(seed, platform, account, index, 1 << 16)
    )
    # Scrambled and shifted: 11 base64url characters, like a real video id.
    number = ((number ^ _mask(seed)) << 2) & (2**66 - 1)
    chars = []
    for _ in range(11):
        number, rest = divmod(number, 64)
        chars.append(_B64[rest])
    return "".join(reversed(chars))


def _mask(seed: int) -> int:
    return stable_hash(seed, "youtube-id-mask") & (2**64 - 1)


def decode_item_id(
    seed: int, platform: str, external_id: str
) -> tuple[int, int] | None:
    try:
        if platform == "tiktok":
            if len(external_id) != 19 or not external_id.startswith("71"):
                return None
            check, account, index = (
                int(external_id[2:6]),
                int(external_id[6:9]),
                int(external_id[9:]),
            )
            ok = check == _check(seed, platform, account, index, 10**4)
        elif platform == "instagram":
            if len(external_id) != 17 or not external_id.startswith("179"):
                return None
            check, account, index = (
                int(external_id[3:7]),
                int(external_id[7:10]),
                int(external_id[10:]),
            )
            ok = check == _check(seed, platform, account, index, 10**4)
        else:
            if len(external_id) != 11:
                return None
            number = 0
            for char in external_id:
                number = number * 64 + _B64_VALUE[char]
            if number & 3:
                return None
            number = (number >> 2) ^ _mask(seed)
            account, index, check = (
                number >> 40,
                (number >> 16) & 0xFFFFFF,
                number & 0xFFFF,
            )
            ok = check == _check(seed, platform, account, index, 1 << 16)
    except (ValueError, KeyError):
        return None
    return (account, index) if ok else None
