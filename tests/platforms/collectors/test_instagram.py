"""Instagram collection against the sandbox: media, insights, stories, days."""

from platforms.models import ContentItem, DailyMetric, MetricSnapshot


def test_a_backfill_stores_media_insights_and_days(connect, collect):
    account = connect("instagram")
    run = collect(account)
    assert run.status in ("succeeded", "partial"), run.error_summary
    items = ContentItem.objects.filter(account=account)
    assert items.count() > 0
    assert MetricSnapshot.objects.filter(item__account=account, metric="reach").exists()
    assert MetricSnapshot.objects.filter(
        account=account, item=None, metric="follower_count"
    ).exists()
    assert DailyMetric.objects.filter(
        account=account, item=None, metric="reach"
    ).exists()


def test_media_from_before_the_business_conversion_is_missing_with_a_reason(
    connect, collect
):
    reasons = set()
    for index in range(3):
        account = connect("instagram", index)
        collect(account)
        reasons.update(
            MetricSnapshot.objects.filter(
                item__account=account, value_int__isnull=True, value_float__isnull=True
            ).values_list("missing_reason", flat=True)
        )
    assert any("business account" in reason for reason in reasons)


# A throttled backfill that moves forward on each attempt (the limiter
# refuses part-way through the insights batches): test_resume.py.


def test_the_account_view_total_is_missing_not_zero_when_no_post_gives_views(
    connect, collect, monkeypatch
):
    from platforms.collectors.instagram import InstagramCollector

    # No post answers a views insight (here: views is not asked at all).
    monkeypatch.setattr(
        InstagramCollector,
        "media_insights",
        tuple(m for m in InstagramCollector.media_insights if m != "views"),
    )
    account = connect("instagram")
    collect(account)
    total = MetricSnapshot.objects.get(account=account, item=None, metric="view_count")
    assert total.value_int is None and total.value_float is None
    assert total.missing_reason == "no post returned a views insight"


def test_the_account_view_total_sums_the_posts_and_says_when_it_is_a_floor(
    connect, collect
):
    account = connect("instagram", 1)  # half its posts predate business
    collect(account)
    total = MetricSnapshot.objects.get(account=account, item=None, metric="view_count")
    per_post = MetricSnapshot.objects.filter(
        item__account=account, metric="view_count", value_int__isnull=False
    )
    assert total.value == sum(per_post.values_list("value_int", flat=True)) > 0
    assert total.estimated  # posts without insights add nothing: a lower bound
