"""django-q2 entry points. Thin: each one looks up ids and calls a service."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def collect_account(account_id: int, kind: str) -> None:
    """Collect one connected account (`kind`: "backfill", "scheduled", "manual").

    Queued by `platforms.services.connections` once an account is connected.
    """
    # TODO: collection is the second half of issue 5 and not written yet. This
    # stub only records that the task ran; it leaves the CollectionRun queued
    # rather than pretend it succeeded or failed.
    logger.warning(
        "collect_account(%s, %r) called, but collection is not implemented yet",
        account_id,
        kind,
    )
