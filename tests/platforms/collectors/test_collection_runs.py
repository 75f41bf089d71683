"""Collection runs end honestly: success, reconnect, pause, requeue, retry."""

import datetime as dt

import httpx
import pytest
from django.utils import timezone
from django_q.models import Schedule

from platforms import planner
from platforms.models import (
    CollectionRun,
    ConnectedAccount,
    ContentItem,
    Credential,
    ErrorLog,
)
from platforms.sandbox import Sandbox
from platforms.services import collection
from tests.platforms.collectors.conftest import FROZEN_AT, SMALL_WORLD


@pytest.fixture
def execute(sb, limiter):
    def run(account, kind="backfill"):
        created = collection.run_create(account=account, kind=kind)
        assert created is not None
        return collection.run_execute(
            run_id=created.pk, transport=sb.transport(), limiter=limiter
        )

    return run


def test_a_run_succeeds_and_plans_the_next_one(connect, execute):
    account = connect("tiktok")
    run = execute(account)
    assert run.status == "succeeded"
    assert run.finished_at and run.counts["items"] > 0
    account.refresh_from_db()
    assert account.last_collected_at is not None
    assert account.next_collection_at > account.last_collected_at


def test_runs_for_one_account_never_overlap(connect):
    account = connect("tiktok")
    assert collection.run_create(account=account, kind="backfill") is not None
    assert collection.run_create(account=account, kind="scheduled") is None


def test_a_run_is_claimed_once(connect, execute, sb, limiter):
    account = connect("tiktok")
    run = execute(account)
    assert (
        collection.run_execute(run_id=run.pk, transport=sb.transport(), limiter=limiter)
        is None
    )


def test_a_rejected_token_asks_for_a_reconnect_and_others_go_on(connect, execute):
    broken = connect("tiktok", 0)
    Credential.objects.filter(account=broken).update(refresh_token="")
    credential = Credential.objects.get(account=broken)
    credential.access_token = "act.revoked-long-ago"
    credential.refresh_token = ""
    credential.save()
    healthy = connect("tiktok", 1)

    assert execute(broken).status == "failed"
    assert execute(healthy).status == "succeeded"
    broken.refresh_from_db()
    assert broken.status == ConnectedAccount.Status.RECONNECT_NEEDED
    assert broken.status_reason
    assert ErrorLog.objects.filter(account=broken, error_class="auth").exists()


def test_a_spent_quota_pauses_youtube_until_the_reset(
    creator, settings, time_machine, limiter
):
    sb = Sandbox(
        seed=7,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "world": SMALL_WORLD,
            # channels + one playlist page fit; videos.list does not.
            "limits": {"youtube": {"daily_quota": 2}},
        },
    )
    from platforms.tokens import save_token_reply

    world_account = sb.world.accounts("youtube")[0]
    account = ConnectedAccount.objects.create(
        owner=creator, platform="youtube", platform_user_id=world_account.external_id
    )
    save_token_reply(account, sb.issue_tokens("youtube", world_account.id))
    run = collection.run_create(account=account, kind="backfill")
    run = collection.run_execute(
        run_id=run.pk, transport=sb.transport(), limiter=limiter
    )
    assert run.status in ("partial", "failed")
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.PAUSED
    # Midnight in Los Angeles after 2026-06-15 12:00 UTC is 07:00 UTC next day.
    assert account.paused_until == dt.datetime(2026, 6, 16, 7, 0, tzinfo=dt.UTC)
    assert ErrorLog.objects.filter(account=account, error_class="quota").exists()
    # After the reset the planner finds it due and it may run again.
    time_machine.move_to("2026-06-16T07:00:01+00:00")
    assert account in planner.due_accounts()
    assert collection.account_collectable(account)


def test_throttling_requeues_the_run_after_retry_after(connect, sb, limiter):
    account = connect("tiktok")
    sb.faults.add(
        "burst_429", platform="tiktok", endpoint="tiktok.video.list", burst=50
    )
    run = collection.run_create(account=account, kind="scheduled")
    run = collection.run_execute(
        run_id=run.pk, transport=sb.transport(), limiter=limiter
    )
    assert run.status == "queued"
    assert "Throttled" in run.error_summary
    retry = Schedule.objects.get(name__startswith=f"collect-run-{run.pk}-retry")
    # TikTok's window is a minute: the run comes back then, not at once.
    assert retry.next_run >= timezone.now() + dt.timedelta(seconds=50)


def test_a_run_whose_worker_died_is_retried_up_to_the_limit(connect, settings):
    settings.COLLECTION_MAX_ATTEMPTS = 2
    account = connect("tiktok")
    stale = timezone.now() - dt.timedelta(hours=1)
    CollectionRun.objects.create(
        account=account, kind="backfill", status="running", heartbeat_at=stale
    )
    retried = collection.runs_reap_stale()
    assert len(retried) == 1
    again = CollectionRun.objects.get(pk=retried[0])
    assert (again.status, again.attempt) == ("queued", 2)
    CollectionRun.objects.filter(pk=again.pk).update(
        status="running", heartbeat_at=stale
    )
    assert collection.runs_reap_stale() == []  # attempt 2 was the last
    assert CollectionRun.objects.filter(account=account, status="failed").count() == 2


def test_the_planner_queues_due_accounts_once(connect):
    first, second = connect("tiktok", 0), connect("tiktok", 1)
    ConnectedAccount.objects.filter(pk=second.pk).update(
        next_collection_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert len(collection.runs_plan_due()) == 1
    assert collection.runs_plan_due() == []  # its run is still active
    assert first.runs.get().kind == "scheduled"


def test_fresh_content_is_collected_more_often_than_old():
    now = timezone.now()
    assert planner.interval_for(
        now - dt.timedelta(hours=5), now
    ) < planner.interval_for(now - dt.timedelta(days=90), now)


def test_youtube_requests_share_the_projects_short_term_window(
    connect, settings, sb, limiter
):
    """Past the per-project window a run is re-queued, never sent on."""
    from platforms.ratelimit import forget_known_buckets

    settings.PLATFORM_RATE_LIMITS = {"youtube": {"data_api": "2/100s"}}
    forget_known_buckets()
    account = connect("youtube")
    run = collection.run_create(account=account, kind="backfill")
    run = collection.run_execute(
        run_id=run.pk, transport=sb.transport(), limiter=limiter
    )
    assert run.status == "queued"
    assert "local rate limit" in run.error_summary
    assert sb.requests.throttled_count() == 0


# --- lost tasks: a run stuck in "queued" is sent again ------------------------


def test_a_queued_run_whose_task_was_lost_is_sent_again_once(connect, settings):
    settings.COLLECTION_QUEUED_GRACE_SECONDS = 60
    account = connect("tiktok")
    run = collection.run_create(account=account, kind="backfill")
    # Its task went to a cluster that died: nothing will ever execute it.
    CollectionRun.objects.filter(pk=run.pk).update(
        dispatched_at=timezone.now() - dt.timedelta(seconds=30)
    )
    assert collection.runs_reap_stale() == []  # still within the grace
    later = timezone.now() + dt.timedelta(seconds=31)
    assert collection.runs_reap_stale(now=later) == [run.pk]
    run.refresh_from_db()
    assert run.status == "queued" and run.dispatched_at == later
    assert run.task_id  # handed to the broker again
    # A second reaper at the same moment finds nothing left to re-send.
    assert collection.runs_reap_stale(now=later) == []


def test_a_resent_run_is_claimed_by_one_worker_only(connect, sb, limiter):
    account = connect("tiktok")
    run = collection.run_create(account=account, kind="backfill")
    first = collection.run_claim(run_id=run.pk)
    # The original task arrives late, after the re-sent one was claimed.
    assert collection.run_claim(run_id=run.pk) is None
    assert first.lease and first.status == "running"


def test_a_throttled_run_is_not_started_before_its_retry_after(connect, settings):
    settings.COLLECTION_QUEUED_GRACE_SECONDS = 60
    account = connect("tiktok")
    resume_at = timezone.now() + dt.timedelta(minutes=10)
    run = collection.run_create(
        account=account, kind="scheduled", run_after=resume_at, dispatched_at=resume_at
    )
    assert collection.run_claim(run_id=run.pk) is None  # a stray early task
    # Nor does the reaper think its task is lost before it was even due.
    assert collection.runs_reap_stale(now=resume_at) == []
    assert collection.runs_reap_stale(now=resume_at + dt.timedelta(seconds=61)) == [
        run.pk
    ]


# --- the fence: a reaped worker stops writing ---------------------------------


class ReapDuringRequest(httpx.BaseTransport):
    """The sandbox, plus a reaper on another host that fires mid-run.

    Before the `at`-th request the reaper (with a clock an hour ahead, so the
    heartbeat looks stale) fails the run and queues its next attempt.
    """

    def __init__(self, inner: httpx.BaseTransport, at: int) -> None:
        self.inner, self.at, self.seen = inner, at, 0
        self.items_at_reap: int | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen == self.at:
            collection.runs_reap_stale(now=timezone.now() + dt.timedelta(hours=1))
            self.items_at_reap = ContentItem.objects.count()
        return self.inner.handle_request(request)


def test_a_reaped_runs_late_worker_stops_and_cannot_overwrite_the_retry(
    connect, sb, limiter
):
    account = connect("youtube")
    run = collection.run_create(account=account, kind="backfill")
    transport = ReapDuringRequest(sb.transport(), at=4)
    late = collection.run_execute(run_id=run.pk, transport=transport, limiter=limiter)

    assert transport.items_at_reap is not None, "the reaper fired mid-run"
    assert late.status == "failed" and late.error_summary.startswith("Worker stopped")
    retry = CollectionRun.objects.get(account=account, attempt=2)
    assert retry.status == "queued" and not retry.lease
    # It stopped at once: no request after the next fenced write, no rows.
    assert transport.seen <= transport.at + 1
    assert ContentItem.objects.count() == transport.items_at_reap
    # The retry runs normally and finishes the account.
    done = collection.run_execute(
        run_id=retry.pk, transport=sb.transport(), limiter=limiter
    )
    assert done.status in ("succeeded", "partial"), done.error_summary
    late_row = CollectionRun.objects.get(pk=run.pk)
    assert late_row.status == "failed"


def test_a_late_finish_cannot_overwrite_a_reaped_run(connect):
    account = connect("tiktok")
    run = collection.run_create(account=account, kind="backfill")
    claimed = collection.run_claim(run_id=run.pk)
    progress = collection.Progress(run=claimed)
    collection.runs_reap_stale(now=timezone.now() + dt.timedelta(hours=1))
    with pytest.raises(collection.RunLeaseLost):
        collection._finish(claimed, progress, "succeeded", "")
    with pytest.raises(collection.RunLeaseLost):
        progress.set_total(10)
    assert CollectionRun.objects.get(pk=run.pk).status == "failed"


class RecordsClose(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.closed = inner, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.closed += 1


@pytest.mark.parametrize("fault", [None, "status_500"])
def test_the_client_is_closed_after_every_run(connect, sb, limiter, fault):
    account = connect("tiktok")
    if fault:  # a run that fails closes its client too
        sb.faults.add(fault, platform="tiktok", endpoint="tiktok.user.info")
    transport = RecordsClose(sb.transport())
    run = collection.run_create(account=account, kind="backfill")
    done = collection.run_execute(run_id=run.pk, transport=transport, limiter=limiter)
    assert done.status == ("failed" if fault else "succeeded")
    assert transport.closed == 1
