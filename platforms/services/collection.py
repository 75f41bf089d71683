"""Collection runs: queue, execute, record progress, and end each one honestly.

A run belongs to one account and at most one run per account is active
(queued or running) — a partial unique constraint, so two workers can never
collect the same account at once. Executing a run means:

1. claim it (one conditional UPDATE queued → running; a second worker that
   got the same task finds nothing to claim and returns),
2. let the platform's collector (`platforms.collectors`) walk the account
   page by page, writing through `platforms.services.storage`,
3. end it by what happened:

   ============================  =========================================
   outcome                       what follows
   ============================  =========================================
   everything collected          succeeded; next collection planned
   some items failed             partial (error-log rows say which)
   token rejected for good       failed; account "reconnect needed"
   daily quota spent             partial/failed; account paused until reset
   throttled (long wait)         stays queued; re-run after `retry_after`
   anything else                 failed; error-log row; other accounts go on
   ============================  =========================================

A worker that dies leaves its run "running" with a stale heartbeat;
`runs_reap_stale` fails it and queues a new attempt, up to
`COLLECTION_MAX_ATTEMPTS`.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task, schedule

from platforms import planner
from platforms.exceptions import (
    PlatformAuthError,
    PlatformError,
    PlatformQuotaError,
    PlatformRateLimitError,
)
from platforms.logging import redact
from platforms.models import CollectionRun, ConnectedAccount, ErrorLog, QuotaUsage

logger = logging.getLogger("platforms.collection")

RUN_TASK = "platforms.tasks.run_collection"
HEARTBEAT_EVERY = dt.timedelta(seconds=5)


# --- queueing -------------------------------------------------------------


def run_create(
    *, account: ConnectedAccount, kind: str, attempt: int = 1
) -> CollectionRun | None:
    """A new queued run, or None when the account already has an active one."""
    try:
        with transaction.atomic():
            return CollectionRun.objects.create(
                account=account, kind=kind, attempt=attempt
            )
    except IntegrityError:
        return None


def run_enqueue(
    *, account: ConnectedAccount, kind: str, attempt: int = 1
) -> CollectionRun | None:
    """Create a run and hand it to django-q2 once the transaction commits."""
    run = run_create(account=account, kind=kind, attempt=attempt)
    if run is not None:
        transaction.on_commit(lambda: _send(run.pk))
    return run


def _send(run_id: int) -> None:
    try:
        task_id = async_task(RUN_TASK, run_id, task_name=f"collect-run-{run_id}")
    except Exception as exc:  # any broker failure ends the run the same way
        logger.exception("Could not queue collection run %s", run_id)
        CollectionRun.objects.filter(pk=run_id, status="queued").update(
            status=CollectionRun.Status.FAILED,
            finished_at=timezone.now(),
            error_summary=f"Could not queue the run: {type(exc).__name__}.",
        )
        return
    CollectionRun.objects.filter(pk=run_id).update(task_id=str(task_id or ""))


def _send_later(run_id: int, *, seconds: float) -> None:
    """Re-run a throttled run after the platform's retry_after."""
    schedule(
        RUN_TASK,
        run_id,
        name=f"collect-run-{run_id}-retry-{timezone.now():%Y%m%d%H%M%S%f}",
        schedule_type="O",
        repeats=1,
        next_run=timezone.now() + dt.timedelta(seconds=max(1.0, seconds)),
    )


# --- progress -------------------------------------------------------------


@dataclass
class Progress:
    """What a collector reports while it works; saved with a heartbeat."""

    run: CollectionRun
    counts: dict[str, int] = field(default_factory=dict)
    #: Called on every change (the `collect` command draws its bar with it).
    listener: Callable[[CollectionRun], None] | None = None
    _last_beat: dt.datetime | None = None

    def set_total(self, total: int) -> None:
        self.run.progress_total = total
        self._save(force=True)

    def add_total(self, extra: int) -> None:
        self.run.progress_total = (self.run.progress_total or 0) + extra
        self._save()

    def advance(self, done: int = 1, **counts: int) -> None:
        self.run.progress_done += done
        for key, value in counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        self._save()

    def count(self, **counts: int) -> None:
        self.advance(0, **counts)

    def _save(self, *, force: bool = False) -> None:
        if self.listener is not None:
            self.listener(self.run)
        now = timezone.now()
        if not force and self._last_beat and now - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = now
        self.run.heartbeat_at = now
        CollectionRun.objects.filter(pk=self.run.pk).update(
            progress_done=self.run.progress_done,
            progress_total=self.run.progress_total,
            heartbeat_at=now,
            counts=self.counts,
        )


# --- execution ------------------------------------------------------------


def run_claim(*, run_id: int) -> CollectionRun | None:
    """queued → running, atomically; None if another worker has it or it ended."""
    now = timezone.now()
    claimed = CollectionRun.objects.filter(
        pk=run_id, status=CollectionRun.Status.QUEUED
    ).update(status=CollectionRun.Status.RUNNING, started_at=now, heartbeat_at=now)
    if not claimed:
        return None
    return CollectionRun.objects.select_related("account").get(pk=run_id)


def run_execute(
    *,
    run_id: int,
    listener: Callable[[CollectionRun], None] | None = None,
    **collector_kwargs: Any,
) -> CollectionRun | None:
    """Execute one queued run to its end. Never raises for platform errors."""
    from platforms.collectors import get_collector

    run = run_claim(run_id=run_id)
    if run is None:
        logger.info("Run %s is not queued any more; nothing to do", run_id)
        return None
    account = run.account
    progress = Progress(run=run, listener=listener)
    if not account_collectable(account):
        return _finish(
            run,
            progress,
            CollectionRun.Status.FAILED,
            f"Account is {account.get_status_display().lower()}: "
            f"{account.status_reason or 'not collectable'}",
        )
    started = timezone.now()
    try:
        collector = get_collector(
            account=account, progress=progress, fetched_at=started, **collector_kwargs
        )
        outcome = collector.collect(backfill=run.kind == CollectionRun.Kind.BACKFILL)
    except PlatformRateLimitError as exc:
        return _requeue_throttled(run, progress, exc)
    except PlatformAuthError as exc:
        account_mark_reconnect(account=account, reason=_reason(exc))
        return _finish(run, progress, CollectionRun.Status.FAILED, _reason(exc))
    except PlatformQuotaError as exc:
        until = quota_back_at(exc, platform=account.platform)
        account_pause(account=account, until=until, reason=_reason(exc))
        status = (
            CollectionRun.Status.PARTIAL
            if run.progress_done
            else CollectionRun.Status.FAILED
        )
        return _finish(run, progress, status, _reason(exc))
    except PlatformError as exc:
        return _finish(run, progress, CollectionRun.Status.FAILED, _reason(exc))
    except Exception as exc:
        # A bug or a malformed reply the client did not catch: record it with
        # the traceback (redacted) and end this account's run only.
        logger.exception("Collection run %s failed", run.pk)
        ErrorLog.objects.create(
            platform=account.platform,
            error_class=ErrorLog.ErrorClass.DATA,
            message=f"Collection stopped: {type(exc).__name__}: {redact(str(exc))}",
            account=account,
            context={"traceback": redact(traceback.format_exc()[-4000:])},
        )
        return _finish(
            run, progress, CollectionRun.Status.FAILED, f"{type(exc).__name__}: {exc}"
        )
    status = (
        CollectionRun.Status.PARTIAL
        if outcome.failures
        else CollectionRun.Status.SUCCEEDED
    )
    summary = "; ".join(outcome.failures[:5])
    finished = _finish(run, progress, status, summary)
    account_collected(
        account=account,
        at=started,
        next_at=outcome.next_collection_at or planner.next_collection_at(account),
    )
    return finished


def _reason(exc: PlatformError) -> str:
    return redact(str(exc))[:1000]


def quota_back_at(exc: PlatformQuotaError, *, platform: str) -> dt.datetime:
    """When a spent quota comes back: the ledger's reset, else retry_after."""
    now = timezone.now()
    until = (
        QuotaUsage.objects.filter(platform=platform, exhausted_until__gt=now)
        .order_by("-exhausted_until")
        .values_list("exhausted_until", flat=True)
        .first()
    )
    if until is not None:
        return until
    return now + dt.timedelta(seconds=exc.retry_after or 3600)


def _requeue_throttled(
    run: CollectionRun, progress: Progress, exc: PlatformRateLimitError
) -> CollectionRun:
    """Give the run back to the queue; it resumes after retry_after."""
    wait = exc.retry_after or 60.0
    CollectionRun.objects.filter(pk=run.pk).update(
        status=CollectionRun.Status.QUEUED,
        heartbeat_at=timezone.now(),
        counts=progress.counts,
        error_summary=f"Throttled; resumes in {wait:.0f} s: {_reason(exc)}",
    )
    _send_later(run.pk, seconds=wait)
    run.refresh_from_db()
    return run


def _finish(
    run: CollectionRun, progress: Progress, status: str, summary: str
) -> CollectionRun:
    now = timezone.now()
    CollectionRun.objects.filter(pk=run.pk).update(
        status=status,
        finished_at=now,
        heartbeat_at=now,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        counts=progress.counts,
        error_summary=summary[:4000],
    )
    run.refresh_from_db()
    logger.info(
        "Run %s of %s ended %s (%s/%s) %s",
        run.pk,
        run.account,
        status,
        run.progress_done,
        run.progress_total,
        progress.counts,
    )
    return run


# --- account state --------------------------------------------------------


def account_collectable(account: ConnectedAccount) -> bool:
    if account.status == ConnectedAccount.Status.ACTIVE:
        return True
    paused = account.status == ConnectedAccount.Status.PAUSED
    if paused and account.paused_until and account.paused_until <= timezone.now():
        ConnectedAccount.objects.filter(pk=account.pk).update(
            status=ConnectedAccount.Status.ACTIVE,
            status_reason="",
            paused_until=None,
        )
        account.status = ConnectedAccount.Status.ACTIVE
        return True
    return False


def account_mark_reconnect(*, account: ConnectedAccount, reason: str) -> None:
    ConnectedAccount.objects.filter(pk=account.pk).update(
        status=ConnectedAccount.Status.RECONNECT_NEEDED,
        status_reason=f"Reconnect needed: {reason}"[:1000],
    )


def account_pause(
    *, account: ConnectedAccount, until: dt.datetime, reason: str
) -> None:
    ConnectedAccount.objects.filter(pk=account.pk).exclude(
        status__in=[
            ConnectedAccount.Status.RECONNECT_NEEDED,
            ConnectedAccount.Status.DISCONNECTED,
        ]
    ).update(
        status=ConnectedAccount.Status.PAUSED,
        paused_until=until,
        next_collection_at=until,
        status_reason=f"Paused until {until:%Y-%m-%d %H:%M} UTC: {reason}"[:1000],
    )


def account_collected(
    *, account: ConnectedAccount, at: dt.datetime, next_at: dt.datetime | None
) -> None:
    ConnectedAccount.objects.filter(pk=account.pk).update(
        last_collected_at=at, next_collection_at=next_at
    )


# --- scheduling -------------------------------------------------------------


def runs_plan_due(*, now: dt.datetime | None = None) -> list[int]:
    """Queue a scheduled run for every account whose time has come."""
    queued = []
    for account in planner.due_accounts(now).exclude(
        runs__status__in=CollectionRun.ACTIVE_STATUSES
    ):
        run = run_enqueue(account=account, kind=CollectionRun.Kind.SCHEDULED)
        if run is not None:
            queued.append(run.pk)
    return queued


# --- dead workers ---------------------------------------------------------


def runs_reap_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Fail runs whose worker stopped beating, and queue another attempt."""
    now = now or timezone.now()
    stale_after = dt.timedelta(seconds=settings.COLLECTION_STALE_AFTER_SECONDS)
    max_attempts = settings.COLLECTION_MAX_ATTEMPTS
    stale = list(
        CollectionRun.objects.filter(
            status=CollectionRun.Status.RUNNING, heartbeat_at__lt=now - stale_after
        ).select_related("account")
    )
    retried = []
    for run in stale:
        ended = CollectionRun.objects.filter(
            pk=run.pk,
            status=CollectionRun.Status.RUNNING,
            heartbeat_at=run.heartbeat_at,
        ).update(
            status=CollectionRun.Status.FAILED,
            finished_at=now,
            error_summary=(
                f"Worker stopped (no heartbeat since {run.heartbeat_at:%H:%M:%S})."
            ),
        )
        if not ended:
            continue  # it beat again, or someone else reaped it
        ErrorLog.objects.create(
            platform=run.account.platform,
            error_class=ErrorLog.ErrorClass.API,
            message=f"Collection run {run.pk} lost its worker; attempt {run.attempt}.",
            account=run.account,
        )
        if run.attempt < max_attempts:
            again = run_enqueue(
                account=run.account, kind=run.kind, attempt=run.attempt + 1
            )
            if again is not None:
                retried.append(again.pk)
    return retried
