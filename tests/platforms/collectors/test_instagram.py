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


def test_a_throttled_backfill_moves_forward_on_each_attempt(
    connect, collect, sb, limiter
):
    """Each attempt stores what it got; the next one does not ask again."""
    from platforms.models import ApiCallLog

    account = connect("instagram")
    collect(account)
    first = ApiCallLog.objects.filter(endpoint="graph.batch").count()
    assert first > 0
    # Same run again (as after a re-queue): every media already has insights.
    from django.utils import timezone

    from platforms.collectors import get_collector
    from platforms.models import CollectionRun
    from platforms.services.collection import Progress

    # Re-claimed after the re-queue: running again.
    CollectionRun.objects.filter(account=account).update(status="running")
    run = CollectionRun.objects.get(account=account)
    collector = get_collector(
        account=account,
        progress=Progress(run=run),
        fetched_at=timezone.now(),
        transport=sb.transport(),
        limiter=limiter,
    )
    collector.collect(backfill=True)
    assert ApiCallLog.objects.filter(endpoint="graph.batch").count() == first
