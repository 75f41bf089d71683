import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from platforms.models import ContentItem, Credential, DailyMetric, MetricSnapshot


@pytest.fixture
def item(youtube_account):
    return ContentItem.objects.create(
        account=youtube_account, platform_item_id="vid-1", kind=ContentItem.Kind.VIDEO
    )


def test_it_rejects_a_duplicate_daily_value_for_an_item(item):
    day = timezone.now().date()
    fields = dict(account=item.account, item=item, metric="views", day=day)
    DailyMetric.objects.create(
        **fields, value_int=5, source="reports", fetched_at=timezone.now()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyMetric.objects.create(
            **fields, value_int=6, source="reports", fetched_at=timezone.now()
        )


def test_it_rejects_a_duplicate_account_level_snapshot(youtube_account):
    at = timezone.now()
    fields = dict(account=youtube_account, metric="follower_count", fetched_at=at)
    MetricSnapshot.objects.create(**fields, value_int=10, source="channels")
    with pytest.raises(IntegrityError), transaction.atomic():
        MetricSnapshot.objects.create(**fields, value_int=11, source="channels")


def test_it_keeps_values_above_32_bits_exactly(item):
    big = 2**53 + 1
    row = MetricSnapshot.objects.create(
        account=item.account,
        item=item,
        metric="view_count",
        value_int=big,
        source="videos",
        fetched_at=timezone.now(),
    )
    row.refresh_from_db()
    assert row.value == big


def test_it_stores_tokens_encrypted(youtube_account):
    Credential.objects.create(
        account=youtube_account,
        access_token="ya29.plain-access",
        refresh_token="1//plain-refresh",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM platforms_credential")
        raw_access, raw_refresh = cursor.fetchone()
    assert "plain-access" not in raw_access
    assert "plain-refresh" not in raw_refresh
    assert Credential.objects.get().access_token == "ya29.plain-access"
