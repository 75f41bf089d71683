"""A finished run's progress says it did all it planned: done == total."""

from __future__ import annotations

import pytest

from platforms.models import CollectionRun
from platforms.services import collection


def execute(account, sb, limiter, kind):
    run = collection.run_create(account=account, kind=kind)
    return collection.run_execute(
        run_id=run.pk, transport=sb.transport(), limiter=limiter
    )


@pytest.mark.parametrize("platform", ["tiktok", "youtube", "instagram"])
def test_a_succeeded_backfill_and_scheduled_run_end_at_their_total(
    platform, connect, sb, limiter, time_machine
):
    account = connect(platform)
    backfill = execute(account, sb, limiter, CollectionRun.Kind.BACKFILL)
    assert backfill.status == "succeeded", backfill.error_summary
    assert backfill.progress_total
    assert backfill.progress_done == backfill.progress_total

    # Days later: a head-only run, which lists the fresh items (and re-reads
    # whichever older ones are due), not the whole catalogue the platform's
    # item count describes.
    time_machine.shift(3 * 86400)
    sb.clock.advance(3 * 86400)
    scheduled = execute(account, sb, limiter, CollectionRun.Kind.SCHEDULED)
    assert scheduled.status == "succeeded", scheduled.error_summary
    assert scheduled.checkpoint["full"] is False
    assert scheduled.progress_total
    assert scheduled.progress_done == scheduled.progress_total
    assert scheduled.percent_done == 100
