"""Overview cards: each KPI for the chosen range and its change vs the one before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.kpis import Kpi
from tests.dashboard.conftest import populate, populate_counters


@pytest.fixture
def cards(client, creator, youtube_account, tiktok_account):
    populate(youtube_account, items=3, days=30)
    populate_counters(tiktok_account)
    client.force_login(creator)

    def get(**params):
        response = client.get(reverse("dashboard:overview"), params)
        return {card.platform: card for card in response.context["cards"]}, (
            response.content.decode()
        )

    return get


def test_every_card_has_a_value_and_a_change_for_the_range(cards):
    by_platform, html = cards(range="7d")
    youtube = by_platform["YouTube"]
    # Follower counts every 7 days, 1000 - d: now 1000, at the range's start
    # (the reading 7 days ago) 993.
    assert youtube.followers == Kpi(1000, 993)
    assert youtube.followers.change == 0.7
    # Channel views 90,000 - 10·d: 70 gained in this week and the one before.
    assert youtube.views == Kpi(70, 70)
    assert youtube.views.change == 0.0
    # Day values of items 1..3 over days 0-6: views 4263, likes 273 and
    # comments 105; over days 7-13: 4410, 420 and 252.
    assert youtube.engagement_rate == Kpi(0.0887, 0.1524, unit="rate")
    assert youtube.engagement_rate.change == -6.37
    assert youtube.new_items == Kpi(3, 0)
    assert youtube.new_items.change is None  # from nothing: no percentage

    tiktok = by_platform["TikTok"]
    assert tiktok.followers == Kpi(600, 565)
    assert tiktok.followers.change == 6.2
    assert tiktok.views == Kpi(420, 420)
    assert tiktok.engagement_rate == Kpi(0.15, 0.15, unit="rate")
    assert tiktok.new_items == Kpi(1, 0)

    assert "▲ 0.7%" in html
    assert "▼ 6.37 pp" in html
    assert "(lifetime)" not in html


def test_a_past_range_shows_that_range_and_the_one_before_it(cards):
    today = timezone.now().date()
    by_platform, _ = cards(
        range="custom",
        start=(today - dt.timedelta(days=16)).isoformat(),
        end=(today - dt.timedelta(days=10)).isoformat(),
    )
    tiktok = by_platform["TikTok"]
    # Readings 10 and 17 days ago: 500 + 5·(20 - d) followers.
    assert tiktok.followers == Kpi(550, 515)
    assert tiktok.views == Kpi(420, None)
    # The week before began 23 days ago, before the first reading: unknown.
    assert tiktok.views.change is None
    assert tiktok.new_items == Kpi(0, 0)
