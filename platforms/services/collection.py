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
   throttled (long wait)         queued again; continues from its checkpoint
                                 after `retry_after` (ends partial after
                                 `COLLECTION_MAX_THROTTLES` re-queues)
   anything else                 failed; error-log row; other accounts go on
   ============================  =========================================

Every claim takes a new lease, and every write of the worker (heartbeat,
progress, storage, the end) is conditional on it, so a worker whose run
was taken away stops (`RunLeaseLost`) and overwrites nothing.

A worker that dies leaves its run "running" with a stale heartbeat;
`runs_reap_stale` fails it and queues a new attempt from its checkpoint, up
to `COLLECTION_MAX_ATTEMPTS`. A run left "queued" past its due time (its
task was lost with a Redis-broker cluster) is sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
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
from platforms.services.errors import error_record

logger = logging.getLogger("platforms.collection")

RUN_TASK = "platforms.tasks.run_collection"
HEARTBEAT_EVERY = dt.timedelta(seconds=5)
#: A claim may come this much before `run_after` (schedules fire on the second).
CLAIM_EARLY = dt.timedelta(seconds=1)


# --- queueing -------------------------------------------------------------


def run_create(
    *,
    account: ConnectedAccount,
    kind: str,
    attempt: int = 1,
    **fields: Any,
) -> CollectionRun | None:
    """A new queued run, or None when the account already has an active one."""
    try:
        with transaction.atomic():
            return CollectionRun.objects.create(
                account=account, kind=kind, attempt=attempt, **fields
            )
    except IntegrityError:
        return None


def run_enqueue(
    *, account: ConnectedAccount, kind: str, attempt: int = 1, **fields: Any
) -> CollectionRun | None:
    """Create a run and hand it to django-q2 once the transaction commits."""
    run = run_create(account=account, kind=kind, attempt=attempt, **fields)
    if run is not None:
        transaction.on_commit(lambda: _send(run.pk))
    return run


def _send(run_id: int, *, mark: bool = True) -> None:
    """Hand the run's task to the broker (and note when, unless done already)."""
    if mark:
        CollectionRun.objects.filter(pk=run_id).update(dispatched_at=timezone.now())
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


def _send_later(run_id: int, *, at: dt.datetime) -> None:
    """Re-run a throttled run at `at` (after the platform's retry_after)."""
    schedule(
        RUN_TASK,
        run_id,
        name=f"collect-run-{run_id}-retry-{timezone.now():%Y%m%d%H%M%S%f}",
        schedule_type="O",
        repeats=1,
        next_run=at,
    )


# --- progress -------------------------------------------------------------


class RunLeaseLost(Exception):
    """This worker no longer holds its run: it was reaped or claimed again.

    Raised by every fenced write; the worker stops collecting and writes
    nothing more, so a late worker can never overwrite the retry's work.
    """


@dataclass
class Progress:
    """What a collector reports while it works; saved with a heartbeat.

    Every save is fenced: it only touches the row while the row is still
    running under this worker's lease, and raises `RunLeaseLost` otherwise.
    """

    run: CollectionRun
    counts: dict[str, int] = field(default_factory=dict)
    #: Called on every change (the `collect` command draws its bar with it).
    listener: Callable[[CollectionRun], None] | None = None
    _last_beat: dt.datetime | None = None

    def __post_init__(self) -> None:
        # A resumed run goes on counting from where the last attempt was.
        if not self.counts and self.run.counts:
            self.counts = dict(self.run.counts)

    @property
    def checkpoint(self) -> dict[str, Any]:
        """Where the last attempt stopped (empty on a first attempt)."""
        if self.run.checkpoint is None:
            self.run.checkpoint = {}
        return self.run.checkpoint

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

    def save_checkpoint(self, **state: Any) -> None:
        """Record where to continue from if this attempt stops here."""
        self.checkpoint.update(state)
        self._save(force=True)

    def fence(self) -> None:
        """Prove the lease is still ours (and beat); raise RunLeaseLost if not.

        Called inside the transaction of each storage write, so a write
        either happens under a live lease or not at all.
        """
        now = timezone.now()
        self._fenced_update(heartbeat_at=now)
        self.run.heartbeat_at = now

    def _save(self, *, force: bool = False) -> None:
        if self.listener is not None:
            self.listener(self.run)
        now = timezone.now()
        if not force and self._last_beat and now - self._last_beat < HEARTBEAT_EVERY:
            return
        self._last_beat = now
        self.run.heartbeat_at = now
        self._fenced_update(
            progress_done=self.run.progress_done,
            progress_total=self.run.progress_total,
            heartbeat_at=now,
            counts=self.counts,
            checkpoint=self.checkpoint,
        )

    def _fenced_update(self, **fields: Any) -> None:
        updated = fenced(self.run).update(**fields)
        if not updated:
            raise RunLeaseLost(
                f"run {self.run.pk} is no longer running under this worker's lease"
            )


def fenced(run: CollectionRun):
    """The run's row, only while it is running under `run.lease`."""
    return CollectionRun.objects.filter(
        pk=run.pk, status=CollectionRun.Status.RUNNING, lease=run.lease
    )


# --- execution ------------------------------------------------------------


def run_claim(*, run_id: int) -> CollectionRun | None:
    """queued → running under a new lease, atomically.

    None if another worker has it, it ended, or it is not due yet (a
    throttled run waits for `run_after`, even if a stray task arrives early).
    """
    now = timezone.now()
    lease = uuid.uuid4().hex
    claimed = (
        CollectionRun.objects.filter(pk=run_id, status=CollectionRun.Status.QUEUED)
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=now + CLAIM_EARLY))
        .update(
            status=CollectionRun.Status.RUNNING,
            lease=lease,
            started_at=now,
            heartbeat_at=now,
            run_after=None,
        )
    )
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
    run = run_claim(run_id=run_id)
    if run is None:
        logger.info("Run %s is not queued (or not due); nothing to do", run_id)
        return None
    progress = Progress(run=run, listener=listener)
    try:
        return _execute(run, progress, **collector_kwargs)
    except RunLeaseLost as lost:
        # Reaped while we worked (or claimed again): the row is someone
        # else's now. Stop here and write nothing more.
        logger.warning("Run %s stopped: %s", run.pk, lost)
        return CollectionRun.objects.get(pk=run.pk)


def _execute(
    run: CollectionRun, progress: Progress, **collector_kwargs: Any
) -> CollectionRun:
    from platforms.collectors import get_collector

    account = run.account
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
        with closing(collector):
            outcome = collector.run(backfill=run.kind == CollectionRun.Kind.BACKFILL)
    except RunLeaseLost:
        raise
    except PlatformRateLimitError as exc:
        error_record(exc, account=account, what="Run throttled")
        return _requeue_throttled(run, progress, exc)
    except PlatformAuthError as exc:
        error_record(exc, account=account, what="Run stopped")
        account_mark_reconnect(account=account, reason=_reason(exc))
        return _finish(run, progress, CollectionRun.Status.FAILED, _reason(exc))
    except PlatformQuotaError as exc:
        error_record(exc, account=account, what="Run stopped")
        until = quota_back_at(exc, platform=account.platform)
        account_pause(account=account, until=until, reason=_reason(exc))
        status = (
            CollectionRun.Status.PARTIAL
            if run.progress_done
            else CollectionRun.Status.FAILED
        )
        return _finish(run, progress, status, _reason(exc))
    except PlatformError as exc:
        error_record(exc, account=account, what="Run stopped")
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
    if run.throttles:
        summary = f"Resumed after {run.throttles} throttled attempt(s). {summary}"
    # One transaction: a planner between the two would see the account with
    # no active run and no next collection time, and queue it again at once.
    with transaction.atomic():
        finished = _finish(run, progress, status, summary.strip())
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
    """Give the run back to the queue; it continues from its checkpoint.

    Each attempt keeps what it stored and where it stopped, so a big
    account under a tight limit moves forward every time. A run throttled
    more than `COLLECTION_MAX_THROTTLES` times ends instead of looping.
    """
    throttles = run.throttles + 1
    if throttles > settings.COLLECTION_MAX_THROTTLES:
        status = (
            CollectionRun.Status.PARTIAL
            if run.progress_done
            else CollectionRun.Status.FAILED
        )
        return _finish(
            run,
            progress,
            status,
            f"Gave up after {run.throttles} throttled attempts "
            f"({run.progress_done}/{run.progress_total or '?'} done): {_reason(exc)}",
        )
    wait = exc.retry_after or 60.0
    now = timezone.now()
    resume_at = now + dt.timedelta(seconds=max(1.0, wait))
    updated = fenced(run).update(
        status=CollectionRun.Status.QUEUED,
        lease="",
        heartbeat_at=now,
        run_after=resume_at,
        # The schedule below hands it to the broker then; the reaper
        # re-sends it if that task is lost.
        dispatched_at=resume_at,
        throttles=throttles,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        counts=progress.counts,
        checkpoint=progress.checkpoint,
        error_summary=f"Throttled; resumes in {wait:.0f} s: {_reason(exc)}",
    )
    if not updated:
        raise RunLeaseLost(f"run {run.pk} was taken away while throttled")
    _send_later(run.pk, at=resume_at)
    run.refresh_from_db()
    return run


def _finish(
    run: CollectionRun, progress: Progress, status: str, summary: str
) -> CollectionRun:
    now = timezone.now()
    updated = fenced(run).update(
        status=status,
        lease="",
        finished_at=now,
        heartbeat_at=now,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        counts=progress.counts,
        checkpoint=progress.checkpoint,
        error_summary=summary[:4000],
    )
    if not updated:
        raise RunLeaseLost(f"run {run.pk} ended elsewhere; not marking it {status}")
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


# --- dead workers and lost tasks ------------------------------------------


def runs_reap_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Recover runs nobody is working on; return the runs (re)queued.

    - running with a stale heartbeat (the worker died): failed, and a new
      attempt queued from its checkpoint, up to `COLLECTION_MAX_ATTEMPTS`;
    - queued past its due time plus `COLLECTION_QUEUED_GRACE_SECONDS` (its
      task was lost, e.g. fetched by a Redis-broker cluster that died):
      its task is sent again. Re-sending is claimed with a conditional
      UPDATE, and only one worker can claim the run, so two reapers or a
      late original task never start two attempts.
    """
    now = now or timezone.now()
    return _reap_dead_workers(now) + _resend_lost_tasks(now)


def _reap_dead_workers(now: dt.datetime) -> list[int]:
    stale_after = dt.timedelta(seconds=settings.COLLECTION_STALE_AFTER_SECONDS)
    stale = list(
        CollectionRun.objects.filter(
            status=CollectionRun.Status.RUNNING, heartbeat_at__lt=now - stale_after
        ).select_related("account")
    )
    retried = []
    for run in stale:
        # Failing the run and queueing its next attempt commit together, so
        # the planner never sees the account free in between.
        with transaction.atomic():
            again = _fail_and_retry(run, now)
        if again is not None:
            retried.append(again.pk)
    return retried


def _fail_and_retry(run: CollectionRun, now: dt.datetime) -> CollectionRun | None:
    ended = CollectionRun.objects.filter(
        pk=run.pk,
        status=CollectionRun.Status.RUNNING,
        heartbeat_at=run.heartbeat_at,
    ).update(
        status=CollectionRun.Status.FAILED,
        lease="",
        finished_at=now,
        error_summary=(
            f"Worker stopped (no heartbeat since {run.heartbeat_at:%H:%M:%S})."
        ),
    )
    if not ended:
        return None  # it beat again, or someone else reaped it
    ErrorLog.objects.create(
        platform=run.account.platform,
        error_class=ErrorLog.ErrorClass.API,
        message=f"Collection run {run.pk} lost its worker; attempt {run.attempt}.",
        account=run.account,
    )
    if run.attempt >= settings.COLLECTION_MAX_ATTEMPTS:
        return None
    return run_enqueue(
        account=run.account,
        kind=run.kind,
        attempt=run.attempt + 1,
        # The next attempt continues where this one stopped.
        checkpoint=run.checkpoint or {},
        counts=run.counts or {},
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        throttles=run.throttles,
    )


def _resend_lost_tasks(now: dt.datetime) -> list[int]:
    overdue = now - dt.timedelta(seconds=settings.COLLECTION_QUEUED_GRACE_SECONDS)
    lost = (
        CollectionRun.objects.filter(status=CollectionRun.Status.QUEUED)
        .filter(Q(run_after__isnull=True) | Q(run_after__lte=overdue))
        .filter(
            Q(dispatched_at__lte=overdue)
            | Q(dispatched_at__isnull=True, queued_at__lte=overdue)
        )
        .values_list("pk", "dispatched_at")
    )
    resent = []
    for run_id, dispatched_at in list(lost):
        # Claim the re-send: only one reaper moves dispatched_at on.
        claimed = (
            CollectionRun.objects.filter(
                pk=run_id,
                status=CollectionRun.Status.QUEUED,
                dispatched_at=dispatched_at,
            )
            if dispatched_at is not None
            else CollectionRun.objects.filter(
                pk=run_id,
                status=CollectionRun.Status.QUEUED,
                dispatched_at__isnull=True,
            )
        ).update(dispatched_at=now)
        if not claimed:
            continue
        logger.warning(
            "Run %s was still queued %s after it was due; sending it again",
            run_id,
            now - (dispatched_at or now),
        )
        _send(run_id, mark=False)
        resent.append(run_id)
    return resent
