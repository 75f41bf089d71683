"""The quota ledger: charged before calls, exact under races, DST-aware reset."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from platforms.exceptions import YouTubeQuotaExceeded
from platforms.models import ErrorLog, QuotaUsage
from platforms.quota import QuotaLedger, next_reset, quota_day
from platforms.signals import QUOTA_EXHAUSTED_CODE, notify_quota_exceeded
from tests.platforms.shared_database import run_workers, shared_database_env


def ledger(limit: int = 10) -> QuotaLedger:
    return QuotaLedger(platform="youtube", project="test-project", daily_limit=limit)


def test_it_counts_the_day_in_los_angeles():
    # 06:59 UTC on 3 Dec is still 2 Dec in Los Angeles (UTC-8).
    assert quota_day(datetime(2026, 12, 3, 6, 59, tzinfo=UTC)) == date(2026, 12, 2)
    assert quota_day(datetime(2026, 12, 3, 8, 0, tzinfo=UTC)) == date(2026, 12, 3)


def test_it_resets_at_los_angeles_midnight_across_dst():
    winter = next_reset(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    assert winter == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    summer = next_reset(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert summer == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    # 8 March 2026 (spring forward) is a 23-hour quota day.
    start = next_reset(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    end = next_reset(start + timedelta(minutes=1))
    assert end - start == timedelta(hours=23)
    # 1 November 2026 (fall back) is a 25-hour quota day.
    start = next_reset(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    assert next_reset(start + timedelta(minutes=1)) - start == timedelta(hours=25)


@pytest.mark.django_db
def test_it_charges_before_and_refuses_a_call_that_would_pass_the_quota():
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    book = ledger(10)
    for _ in range(3):
        book.charge(3, now=now)
    with pytest.raises(YouTubeQuotaExceeded) as caught:
        book.charge(3, now=now)
    assert caught.value.permanent
    assert caught.value.retry_after == pytest.approx(20 * 3600)
    book.charge(1, now=now)  # one unit still fits exactly
    row = QuotaUsage.objects.get()
    assert (row.units_used, row.limit, row.day) == (10, 10, date(2026, 12, 3))


@pytest.mark.django_db
def test_it_starts_a_new_row_each_quota_day():
    book = ledger(5)
    book.charge(5, now=datetime(2026, 12, 3, 7, 59, tzinfo=UTC))
    book.charge(5, now=datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    assert sorted(QuotaUsage.objects.values_list("day", "units_used")) == [
        (date(2026, 12, 2), 5),
        (date(2026, 12, 3), 5),
    ]


@pytest.mark.django_db
def test_it_marks_the_project_exhausted_until_midnight_and_signals():
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    notify_quota_exceeded.connect(listener)
    try:
        now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
        book = ledger(100)
        until = book.mark_exhausted(now=now, reason="quotaExceeded")
        with pytest.raises(YouTubeQuotaExceeded):
            book.charge(1, now=now + timedelta(hours=1))
        book.charge(1, now=until)  # the next quota day starts fresh
    finally:
        notify_quota_exceeded.disconnect(listener)
    assert until == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    assert received and received[0]["project"] == "test-project"
    assert received[0]["exhausted_until"] == until


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_it_never_overshoots_with_concurrent_worker_processes(tmp_path):
    """Two processes race for 40 units, 60 tries each: exactly 40 are granted."""
    env = shared_database_env(tmp_path / "db")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    project = f"race-{uuid.uuid4().hex[:8]}"
    params = [
        {
            "project": project,
            "limit": 40,
            "attempts": 60,
            "peers": 2,
            "name": name,
            "barrier": str(barrier),
        }
        for name in ("a", "b")
    ]
    results = run_workers("charge_quota", params, env)
    assert sum(r["granted"] for r in results) == 40


@pytest.mark.django_db
def test_it_signals_once_per_project_and_quota_day():
    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    notify_quota_exceeded.connect(listener)
    try:
        now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
        book = ledger(100)
        book.mark_exhausted(now=now)
        book.mark_exhausted(now=now + timedelta(hours=2))  # another worker
        other = QuotaLedger(platform="youtube", project="other", daily_limit=100)
        other.mark_exhausted(now=now)
        book.mark_exhausted(now=now + timedelta(days=1))  # the next quota day
    finally:
        notify_quota_exceeded.disconnect(listener)
    assert [(r["project"], r["quota_day"]) for r in received] == [
        ("test-project", date(2026, 12, 3)),
        ("other", date(2026, 12, 3)),
        ("test-project", date(2026, 12, 4)),
    ]


@pytest.mark.django_db
def test_a_spent_quota_becomes_one_error_row_staff_and_admin_show(client, staff_user):
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    book = ledger(100)
    until = book.mark_exhausted(now=now, reason="quotaExceeded")
    book.mark_exhausted(now=now + timedelta(minutes=5))
    # A second sender of the same news (or a replayed signal) adds nothing.
    notify_quota_exceeded.send(
        sender=None,
        platform="youtube",
        project="test-project",
        exhausted_until=until,
        reason="quotaExceeded",
    )
    row = ErrorLog.objects.get()
    assert row.error_class == ErrorLog.ErrorClass.QUOTA
    assert row.code == QUOTA_EXHAUSTED_CODE and row.platform == "youtube"
    assert row.context == {
        "project": "test-project",
        "quota_day": "2026-12-03",
        "resets_at": "2026-12-04T08:00:00+00:00",
    }
    assert "test-project" in row.message and "2026-12-04T08:00:00" in row.message
    client.force_login(staff_user)
    page = client.get(reverse("dashboard:staff-errors"), {"days": "all"})
    assert page.status_code == 200
    assert QUOTA_EXHAUSTED_CODE in page.content.decode()
    assert "test-project" in page.content.decode()
    admin = client.get(reverse("admin:platforms_errorlog_changelist"))
    assert admin.status_code == 200
    assert QUOTA_EXHAUSTED_CODE in admin.content.decode()


@pytest.mark.django_db
def test_every_charge_and_mark_moves_updated_at(time_machine):
    # The ledger charges with an F() UPDATE, which auto_now does not see; the
    # staff page's "fetched" time and the admin's "Updated at" read this.
    start = datetime(2026, 12, 4, 6, 17, tzinfo=UTC)
    time_machine.move_to(start, tick=False)
    book = ledger(limit=100)
    book.charge(1, now=start)
    assert QuotaUsage.objects.get().updated_at == start
    later = start + timedelta(minutes=16)
    time_machine.move_to(later, tick=False)
    book.charge(3, now=later)
    row = QuotaUsage.objects.get()
    assert (row.units_used, row.updated_at) == (4, later)
    marked = later + timedelta(minutes=5)
    time_machine.move_to(marked, tick=False)
    book.mark_exhausted(now=marked)
    assert QuotaUsage.objects.get().updated_at == marked
