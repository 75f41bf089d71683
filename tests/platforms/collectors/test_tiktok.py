"""TikTok collection against the sandbox: profile counters and every video."""

from platforms.models import ContentItem, MetricSnapshot


def test_a_backfill_lists_every_video_with_its_counts(connect, collect, sb):
    account = connect("tiktok")
    run = collect(account)
    assert run.status == "succeeded", run.error_summary
    items = ContentItem.objects.filter(account=account)
    expected = sb.world.accounts("tiktok")[0].item_count
    assert items.count() == len(set(items.values_list("platform_item_id", flat=True)))
    assert 0 < items.count() <= expected
    assert (
        MetricSnapshot.objects.filter(
            item__account=account, metric="view_count"
        ).count()
        == items.count()
    )
    follower = MetricSnapshot.objects.get(
        account=account, item=None, metric="follower_count"
    )
    assert follower.value is not None
    total = MetricSnapshot.objects.get(account=account, item=None, metric="view_count")
    per_item = sum(
        s.value
        for s in MetricSnapshot.objects.filter(
            item__account=account, metric="view_count"
        )
    )
    assert total.value == per_item


def test_counts_above_32_bits_are_kept_exactly(connect, collect):
    biggest = 0
    for index in range(3):
        account = connect("tiktok", index)
        collect(account)
        values = MetricSnapshot.objects.filter(
            item__account=account, value_int__isnull=False
        ).values_list("value_int", flat=True)
        biggest = max(biggest, *values)
    assert biggest > 2**31


def test_business_accounts_get_daily_history_and_personal_ones_are_remembered(
    connect, collect, sb
):
    from platforms.models import ConnectedAccount, DailyMetric

    kinds = set()
    for index, world_account in enumerate(sb.world.accounts("tiktok")):
        account = connect("tiktok", index)
        collect(account)
        account.refresh_from_db()
        kinds.add(account.account_type)
        days = DailyMetric.objects.filter(
            account=account, item=None, metric="view_count"
        )
        if world_account.business:
            assert account.account_type == ConnectedAccount.AccountType.BUSINESS
            assert days.count() >= 30
        else:
            assert account.account_type == ConnectedAccount.AccountType.PERSONAL
            assert not days.exists()
    assert kinds == {"business", "personal"}


def test_collection_keeps_working_across_two_days_of_token_rotation(
    connect, collect, sb, time_machine
):
    """TikTok access tokens last a day and every refresh rotates the refresh
    token: two days later collection still works, one refresh a day."""
    from platforms.models import Credential

    account = connect("tiktok")
    assert collect(account).status == "succeeded"
    first_refresh = Credential.objects.get(account=account).refresh_token
    for day in (1, 2):
        sb.clock.advance(86400)
        time_machine.shift(86400)
        run = collect(account, backfill=False)
        assert run.status == "succeeded", run.error_summary
        assert sb.requests.count(endpoint="tiktok.oauth.token") == day
    assert Credential.objects.get(account=account).refresh_token != first_refresh
