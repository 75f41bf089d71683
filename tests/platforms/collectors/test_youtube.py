"""YouTube collection against the sandbox: items, counters, day rows."""

from platforms.models import ContentItem, DailyMetric, Distribution, MetricSnapshot


def test_a_backfill_stores_uploads_counters_and_day_rows(connect, collect, sb):
    account = connect("youtube")
    run = collect(account)
    assert run.status in ("succeeded", "partial"), run.error_summary
    items = ContentItem.objects.filter(account=account)
    assert items.count() > 0
    assert not items.filter(title__in=["Private video", "Deleted video"]).exists()
    assert MetricSnapshot.objects.filter(
        account=account, item__isnull=True, metric="view_count"
    ).exists()
    assert (
        MetricSnapshot.objects.filter(
            item__account=account, metric="view_count"
        ).count()
        == items.count()
    )
    assert DailyMetric.objects.filter(account=account, item__isnull=False).exists()
    assert DailyMetric.objects.filter(account=account, item__isnull=True).exists()
    assert Distribution.objects.filter(account=account, kind="country").exists()
    assert run.progress_total and run.progress_done >= run.progress_total


def _counts():
    return (
        ContentItem.objects.count(),
        DailyMetric.objects.count(),
        MetricSnapshot.objects.count(),
        Distribution.objects.count(),
    )


def test_rerunning_the_same_run_changes_nothing(connect, collect, time_machine):
    time_machine.move_to("2026-06-15T12:00:00+00:00", tick=False)
    account = connect("youtube")
    collect(account)
    before = _counts()
    collect(account)
    assert _counts() == before


def test_a_later_run_adds_new_counter_points_and_no_duplicates(
    connect, collect, sb, time_machine
):
    account = connect("youtube")
    collect(account)
    items, days, snapshots, _ = _counts()
    time_machine.shift(3600)
    sb.clock.advance(3600)
    collect(account, backfill=False)
    assert ContentItem.objects.count() == items
    assert DailyMetric.objects.count() == days  # same days, revised in place
    assert MetricSnapshot.objects.count() == 2 * snapshots  # one new point each


def test_hidden_likes_are_missing_not_zero(connect, collect):
    found = False
    for index in range(3):
        account = connect("youtube", index)
        collect(account)
        hidden = MetricSnapshot.objects.filter(
            item__account=account, metric="like_count", value_int__isnull=True
        )
        if hidden.exists():
            assert "hidden" in hidden.first().missing_reason
            found = True
    assert found


def test_deleted_and_private_videos_are_never_content_and_keep_history(
    connect, collect, sb, time_machine
):
    """Placeholders in the uploads playlist never become items; a video that
    was content and then is made private is marked, with its history kept,
    and is content again once it is public again."""
    account = connect("youtube")
    collect(account)
    missing = ContentItem.objects.filter(account=account).exclude(
        availability="available"
    )
    assert not missing.exists()  # placeholders were not stored as content
    assert not ContentItem.objects.filter(
        account=account, title__in=["Private video", "Deleted video"]
    ).exists()
    video = ContentItem.objects.filter(account=account).first()
    history = MetricSnapshot.objects.filter(item=video).count()

    sb.set_visibility("youtube", video.platform_item_id, "private")
    time_machine.shift(3600)
    sb.clock.advance(3600)
    collect(account, backfill=False)
    video.refresh_from_db()
    assert video.availability == "private"
    assert video.title != "Private video"  # the placeholder did not replace it
    assert MetricSnapshot.objects.filter(item=video).count() == history

    # Public again: available again, same row, same history.
    sb.set_visibility("youtube", video.platform_item_id, "public")
    time_machine.shift(3600)
    sb.clock.advance(3600)
    collect(account, backfill=False)
    video.refresh_from_db()
    assert video.availability == "available"
    assert MetricSnapshot.objects.filter(item=video).count() > history
