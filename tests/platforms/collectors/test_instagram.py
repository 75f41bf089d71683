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
