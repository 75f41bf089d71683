"""Charts are pure functions: plain points in, plotly figures out."""

import datetime as dt

from dashboard.charts import buckets, time_series_figure
from platforms.selectors import Point

START, END = dt.date(2026, 1, 1), dt.date(2026, 1, 5)


def test_it_shows_a_missing_day_as_a_gap_not_zero():
    points = [Point(1, dt.date(2026, 1, 1), 5), Point(1, dt.date(2026, 1, 3), 7)]
    figure = time_series_figure(
        points,
        names={1: "@a"},
        start=START,
        end=END,
        granularity="day",
        title="Views",
        y_title="views",
    )
    (trace,) = figure.data
    assert list(trace.y) == [5, None, 7, None, None]
    assert trace.connectgaps is False


def test_it_draws_one_trace_per_account_with_sorted_x():
    points = [Point(2, dt.date(2026, 1, 2), 1), Point(1, dt.date(2026, 1, 1), 2)]
    figure = time_series_figure(
        points,
        names={1: "@a", 2: "@b"},
        start=START,
        end=END,
        granularity="day",
        title="Views",
        y_title="views",
    )
    assert [t.name for t in figure.data] == ["@a", "@b"]
    xs = list(figure.data[0].x)
    assert xs == sorted(xs)


def test_week_and_month_buckets_start_where_sql_truncates():
    assert buckets(dt.date(2026, 1, 7), dt.date(2026, 1, 20), "week") == [
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 12),
        dt.date(2026, 1, 19),
    ]
    assert buckets(dt.date(2026, 1, 31), dt.date(2026, 3, 1), "month") == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]


def test_hourly_buckets_follow_the_local_clock_across_dst():
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    # 2026-03-29: clocks jump from 02:00 to 03:00, a 23-hour day.
    hours = buckets(dt.date(2026, 3, 29), dt.date(2026, 3, 29), "hour", berlin)
    assert len(hours) == 23
    assert hours[0].hour == 0 and hours[-1].hour == 23


def test_every_reading_is_plotted_at_its_own_time():
    at = dt.datetime(2026, 1, 2, 9, 15, tzinfo=dt.UTC)
    points = [
        Point(1, at, 10),
        Point(1, at + dt.timedelta(hours=5), 12),
        Point(2, at + dt.timedelta(minutes=20), 7),
    ]
    figure = time_series_figure(
        points,
        names={1: "@a", 2: "@b"},
        start=START,
        end=END,
        granularity="reading",
        title="Followers",
        y_title="followers",
    )
    a, b = figure.data
    assert list(a.x) == ["2026-01-02T09:15", "2026-01-02T14:15"]
    assert list(a.y) == [10, 12]
    assert list(b.x) == ["2026-01-02T09:35"]
    assert list(b.y) == [7]


def test_day_values_next_to_hourly_ones_are_drawn_at_local_midnight():
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")
    day = dt.date(2026, 1, 2)
    points = [
        Point(1, day, 500),
        Point(2, dt.datetime(2026, 1, 2, 5, tzinfo=tokyo), 7),
    ]
    for granularity in ("hour", "reading"):
        figure = time_series_figure(
            points,
            names={1: "YouTube", 2: "TikTok"},
            start=day,
            end=day,
            granularity=granularity,
            title="Views",
            y_title="views",
            tz=tokyo,
        )
        tiktok, youtube = figure.data  # sorted by name
        assert [
            (x, y) for x, y in zip(youtube.x, youtube.y, strict=True) if y is not None
        ] == [("2026-01-02T00:00", 500)]
        assert [y for y in tiktok.y if y is not None] == [7]
