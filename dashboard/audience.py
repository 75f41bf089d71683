"""How a stored distribution reads on a chart: labels, order and unit.

Distributions are stored as the platform gave them (`{"key", "value"}`
rows, keys in the platform's own codes); this module turns them into what a
creator reads: "25–34 female" rather than "age25-34 female", age groups in
age order, countries by size, fractions as percentages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

YOUTUBE = "youtubeAnalytics.reports"
GRAPH = "graph.ig_user.insights"
TIKTOK_BUSINESS = "tiktok.business.get"


@dataclass(frozen=True, slots=True)
class Unit:
    """What the values count; `fraction` values (0–1) are shown as percent."""

    title: str
    fraction: bool = False


#: By where the values came from and what they break down.
UNITS = {
    (YOUTUBE, "retention"): Unit("audience watch ratio"),
    (YOUTUBE, "age_gender"): Unit("% of viewers"),
    (YOUTUBE, "country"): Unit("views"),
    (YOUTUBE, "traffic_source"): Unit("views"),
    (GRAPH, "age_gender"): Unit("followers"),
    (GRAPH, "country"): Unit("followers"),
    (GRAPH, "city"): Unit("followers"),
    (TIKTOK_BUSINESS, "age_gender"): Unit("share of followers", fraction=True),
    (TIKTOK_BUSINESS, "country"): Unit("share of followers", fraction=True),
}
DEFAULT_UNIT = Unit("share")

#: YouTube Analytics `insightTrafficSourceType` codes, as YouTube Studio
#: names them.
TRAFFIC_SOURCES = {
    "ADVERTISING": "YouTube advertising",
    "ANNOTATION": "Annotations",
    "CAMPAIGN_CARD": "Campaign cards",
    "END_SCREEN": "End screens",
    "EXT_URL": "External",
    "HASHTAGS": "Hashtag pages",
    "LIVE_REDIRECT": "Live redirects",
    "NO_LINK_EMBEDDED": "Embedded players",
    "NO_LINK_OTHER": "Direct or unknown",
    "NOTIFICATION": "Notifications",
    "PLAYLIST": "Playlists",
    "PRODUCT_PAGE": "Product pages",
    "PROMOTED": "Promoted",
    "RELATED_VIDEO": "Suggested videos",
    "SHORTS": "Shorts feed",
    "SOUND_PAGE": "Sound pages",
    "SUBSCRIBER": "Browse features",
    "VIDEO_REMIXES": "Remixes",
    "YT_CHANNEL": "Channel pages",
    "YT_OTHER_PAGE": "Other YouTube features",
    "YT_PLAYLIST_PAGE": "Playlist pages",
    "YT_SEARCH": "YouTube search",
}
GENDERS = {
    "female": "female",
    "male": "male",
    "user_specified": "unspecified",
    "f": "female",
    "m": "male",
    "u": "unspecified",
}
#: Kinds whose keys are positions on a scale (time, age), not categories.
ORDERED_KINDS = {"retention", "activity", "age_gender"}

_AGE = re.compile(r"^(?:age)?(\d+)(?:-(\d*))?\+?$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def unit_for(source: str, kind: str) -> Unit:
    return UNITS.get((source, kind), DEFAULT_UNIT)


def _age_label(part: str) -> tuple[int, str] | None:
    """("age25-34" | "25-34") → (25, "25–34"); "age65-" | "65+" → (65, "65+")."""
    match = _AGE.match(part)
    if not match:
        return None
    low, high = match.group(1), match.group(2)
    if high:
        return int(low), f"{low}–{high}"
    return int(low), f"{low}+"


GENDER_ORDER = {"female": 0, "male": 1}


def _demographic(key: str) -> tuple[tuple[int, int], str]:
    """Sort key and label of an age and/or gender bucket."""
    age: tuple[int, str] | None = None
    genders = []
    for part in key.split():
        parsed = _age_label(part)
        if parsed and age is None:
            age = parsed
        else:
            genders.append(GENDERS.get(part.lower(), part))
    gender = " ".join(genders)
    order = ((age[0] if age else -1), GENDER_ORDER.get(gender, 2))
    if age is None:
        return order, gender[:1].upper() + gender[1:] or key
    return order, f"{age[1]} {gender}".strip()


def _position(key: str) -> float:
    match = _NUMBER.search(key)
    return float(match.group()) if match else float("inf")


def rows(kind: str, data: Sequence[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(label, value) pairs in reading order for one stored distribution."""
    entries = [(str(entry.get("key")), entry.get("value")) for entry in data]
    if kind == "age_gender":
        keyed = [(*_demographic(key), value) for key, value in entries]
        keyed.sort(key=lambda row: row[0])
        return [(label, value) for _, label, value in keyed]
    if kind in ORDERED_KINDS:
        return sorted(entries, key=lambda row: _position(row[0]))
    if kind == "traffic_source":
        entries = [(TRAFFIC_SOURCES.get(key, key), value) for key, value in entries]
    # Categories: the biggest first; a missing value is not a small one.
    return sorted(
        entries,
        key=lambda row: (row[1] is None, -(row[1] if row[1] is not None else 0)),
    )
