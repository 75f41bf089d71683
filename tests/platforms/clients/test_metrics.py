"""Exact counts, metric mappings, derived formulas and the client registry."""

from __future__ import annotations

from typing import Any

import pytest

from platforms import BasePlatformClient, InstagramClient, TikTokClient, YouTubeClient
from platforms.exceptions import PlatformDataError
from platforms.metrics import (
    INT64_MAX,
    METRIC_MAPPINGS,
    REVERSE_MAPPINGS,
    UNAVAILABLE,
    engagement_rate,
    hashtag_performance,
    hashtags,
    to_int,
    viral_coefficient,
)
from platforms.registry import CLIENTS, get_client_class


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (12, 12),
        ("12", 12),
        ("12.0", 12),
        (12.0, 12),
        ("1767500636", 1767500636),
        ("9007199254740993", 9007199254740993),
        (str(INT64_MAX), INT64_MAX),
        ("-3", -3),
    ],
)
def test_it_converts_counts_exactly(raw, expected):
    value = to_int(raw, field="views")
    assert value == expected and type(value) is int


@pytest.mark.parametrize(
    "raw", [12.5, "12.5", "twelve", None, True, str(INT64_MAX + 1), [], "nan", "inf"]
)
def test_it_refuses_values_that_are_not_whole_64_bit_counts(raw):
    with pytest.raises(PlatformDataError) as caught:
        to_int(raw, field="views", context={"id": "v1"})
    assert caught.value.context["field"] == "views"
    assert caught.value.context["id"] == "v1"


def test_it_maps_every_metric_the_guide_names():
    guide = {
        "tiktok": [
            "view_count",
            "share_count",
            "like_count",
            "comment_count",
            "follower_count",
            "video_retention",
            "audience_demographics",
        ],
        "youtube": [
            "view_count",
            "watch_time",
            "average_view_duration",
            "subscriber_gain",
            "audience_retention",
            "click_through_rate",
            "revenue",
            "playlist_adds",
            "shares",
            "demographics",
        ],
        "instagram": ["views", "reach", "like_count", "comment_count", "saved"],
    }
    for platform, names in guide.items():
        for name in names:
            # A real field, or an explicit reason why the API has none.
            known = name in METRIC_MAPPINGS[platform]
            assert known or UNAVAILABLE[platform].get(name), (platform, name)
    assert METRIC_MAPPINGS["youtube"]["watch_time"] == "estimatedMinutesWatched"
    # cardClickRate counts info-card clicks: it is not the click-through rate.
    assert "cardClickRate" not in METRIC_MAPPINGS["youtube"].values()
    assert "thumbnail" in UNAVAILABLE["youtube"]["click_through_rate"]
    assert REVERSE_MAPPINGS["instagram"]["likes"] == "like_count"
    assert "sound_usage" in UNAVAILABLE["tiktok"]


def test_it_computes_engagement_rates_with_each_platforms_formula():
    counts = {
        "view_count": 1000,
        "like_count": 50,
        "comment_count": 30,
        "share_count": 20,
    }
    assert engagement_rate("tiktok", counts) == (0.1, "")
    assert engagement_rate("youtube", counts) == (0.08, "")
    assert engagement_rate("instagram", {"total_interactions": 30, "reach": 600}) == (
        0.05,
        "",
    )
    rate, reason = engagement_rate("youtube", {**counts, "like_count": None})
    assert rate is None and "like_count" in reason
    rate, reason = engagement_rate("tiktok", {**counts, "view_count": 0})
    assert rate is None and "0" in reason


def test_it_computes_the_viral_coefficient_as_shares_per_view():
    assert viral_coefficient({"share_count": 25, "view_count": 1000}) == (0.025, "")
    assert viral_coefficient({"share_count": None, "view_count": 1000})[0] is None


def test_it_measures_hashtags_from_the_creators_own_captions():
    videos: list[dict[str, Any]] = [
        {
            "caption": "Morning #Coffee #vlog",
            "view_count": 100,
            "like_count": 10,
            "comment_count": 0,
            "share_count": 0,
        },
        {
            "caption": "#coffee again",
            "view_count": 300,
            "like_count": 30,
            "comment_count": 0,
            "share_count": 0,
        },
        {
            "caption": "no tags",
            "view_count": 5,
            "like_count": 0,
            "comment_count": 0,
            "share_count": 0,
        },
        {"caption": "#vlog private", "view_count": None},
    ]
    table = {row["hashtag"]: row for row in hashtag_performance(videos)}
    assert set(table) == {"coffee", "vlog"}
    assert table["coffee"]["videos"] == 2 and table["coffee"]["total_views"] == 400
    assert table["coffee"]["average_views"] == 200
    assert table["coffee"]["average_engagement_rate"] == pytest.approx(0.1)
    assert table["vlog"]["videos"] == 2 and table["vlog"]["videos_with_views"] == 1
    assert hashtags("#A #a #b") == ["a", "b"]


def test_it_registers_each_platform_by_one_id():
    assert get_client_class("tiktok") is TikTokClient
    assert get_client_class("youtube") is YouTubeClient
    assert get_client_class("instagram") is InstagramClient
    assert set(CLIENTS) == {"tiktok", "youtube", "instagram"}


class ExampleClient(BasePlatformClient):
    """A fourth platform: the abstract methods and one registry entry."""

    platform = "example"

    @property
    def app_id(self) -> str:
        return "example-app"

    def fetch_metrics(self, **kwargs: Any) -> dict[str, Any]:
        return self.transform_metrics({"id": kwargs["video_id"], "views": "7"})

    def validate_response(self, response, *, endpoint):
        return response.json()

    def transform_metrics(self, raw, *, requested=None):
        return {
            "video_id": raw["id"],
            "metrics": {"views": to_int(raw["views"], field="views")},
        }

    def request_token_refresh(self, refresh_token):
        return {"access_token": "new"}


def test_it_adds_a_fourth_platform_by_subclassing_and_one_entry(monkeypatch):
    from tests.platforms.clients.conftest import run_coroutine

    monkeypatch.setitem(CLIENTS, "example", f"{__name__}.ExampleClient")
    client = get_client_class("example")()
    result = run_coroutine(client.collect_metrics(video_id="e1"))
    assert result == {"video_id": "e1", "metrics": {"views": 7}}


def test_it_refuses_a_client_missing_the_contract():
    class Incomplete(BasePlatformClient):
        platform = "incomplete"

    with pytest.raises(TypeError):
        Incomplete()
