"""Distributions read as a creator expects: words, not codes; a sensible order."""

from __future__ import annotations

from dashboard import audience


def rows(kind, pairs):
    return audience.rows(kind, [{"key": k, "value": v} for k, v in pairs])


def test_youtube_age_groups_read_as_ages_in_age_order():
    got = rows(
        "age_gender",
        [
            ("age25-34 female", 30.0),
            ("age65- user_specified", 0.5),
            ("age13-17 male", 4.0),
            ("age25-34 male", 40.0),
        ],
    )
    assert got == [
        ("13–17 male", 4.0),
        ("25–34 female", 30.0),
        ("25–34 male", 40.0),
        ("65+ unspecified", 0.5),
    ]


def test_instagram_age_groups_put_13_17_first_and_65_last():
    got = rows(
        "age_gender",
        [("18-24 F", 40), ("45-54 M", 9), ("13-17 U", 3), ("65+ F", 1), ("35-44 M", 7)],
    )
    assert [label for label, _ in got] == [
        "13–17 unspecified",
        "18–24 female",
        "35–44 male",
        "45–54 male",
        "65+ female",
    ]


def test_gender_only_buckets_keep_their_order_and_names():
    got = rows("age_gender", [("Female", 0.4), ("Male", 0.38), ("Other", 0.22)])
    assert got == [("Female", 0.4), ("Male", 0.38), ("Other", 0.22)]


def test_categories_come_biggest_first_and_missing_last():
    got = rows("country", [("US", 900), ("FR", 1300), ("XX", None), ("CA", 4500)])
    assert got == [("CA", 4500), ("FR", 1300), ("US", 900), ("XX", None)]


def test_youtube_traffic_codes_read_as_youtube_studio_names():
    got = rows("traffic_source", [("YT_SEARCH", 5), ("RELATED_VIDEO", 9), ("NEW", 1)])
    assert got == [("Suggested videos", 9), ("YouTube search", 5), ("NEW", 1)]


def test_retention_keeps_the_time_order():
    got = rows("retention", [("0.1", 0.9), ("0.01", 1.0), ("1.0", 0.2)])
    assert [label for label, _ in got] == ["0.01", "0.1", "1.0"]


def test_tiktok_fractions_show_as_percent_and_graph_counts_followers():
    assert audience.unit_for("tiktok.business.get", "country").fraction
    assert audience.unit_for("graph.ig_user.insights", "age_gender").title == (
        "followers"
    )
    assert audience.unit_for("unknown", "country") == audience.DEFAULT_UNIT
