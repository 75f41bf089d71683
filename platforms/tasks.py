"""django-q2 entry points. Thin: each one looks up ids and calls a service."""

from __future__ import annotations

from platforms.models import CollectionRun, ConnectedAccount
from platforms.services import collection


def run_collection(run_id: int) -> str:
    """Execute one queued collection run (queued by `collection.run_enqueue`)."""
    run = collection.run_execute(run_id=run_id)
    return run.status if run is not None else "not queued"


def collect_account(account_id: int, kind: str) -> str:
    """Execute the account's queued run of `kind`, creating one if none is queued.

    The connect flow queues its backfill run first and then this task, so the
    run it finds is that one.
    """
    account = ConnectedAccount.objects.get(pk=account_id)
    run = (
        account.runs.filter(kind=kind, status=CollectionRun.Status.QUEUED)
        .order_by("queued_at")
        .first()
    ) or collection.run_create(account=account, kind=kind)
    if run is None:
        return "another run is active"
    return run_collection(run.pk)


def plan_collections() -> int:
    """Every minute: queue scheduled runs for the accounts that are due."""
    return len(collection.runs_plan_due())


def reap_stale_runs() -> int:
    """Every few minutes: fail runs whose worker died, queue another attempt."""
    return len(collection.runs_reap_stale())
