"""Signals other parts of the product listen to, and the receivers it ships.

`notify_quota_exceeded` is sent by `QuotaLedger.mark_exhausted` when the
platform itself answers that a project's daily quota is spent (YouTube's
`quotaExceeded`), once per project and quota day: the first such reply
marks the project exhausted until the next reset; later ones find it
marked. A call the ledger refuses *before* sending (it would pass the daily
limit) raises `YouTubeQuotaExceeded` without sending the signal, because
smaller calls may still fit.

Arguments: platform, project, exhausted_until (aware datetime, the reset),
reason, quota_day (date in the platform's reset time zone).

`record_quota_exceeded` (connected in `PlatformsConfig.ready`) turns it into
one ErrorLog row of the quota class per project and quota day, which the
staff Errors page and the admin list.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.dispatch import Signal

notify_quota_exceeded = Signal()

#: ErrorLog.code of the row `record_quota_exceeded` writes.
QUOTA_EXHAUSTED_CODE = "project_quota_exhausted"


def record_quota_exceeded(
    sender: Any,
    *,
    platform: str,
    project: str,
    exhausted_until: datetime,
    reason: str = "",
    quota_day: date | None = None,
    **kwargs: Any,
) -> None:
    """Write one quota ErrorLog row per project and quota day."""
    from platforms.models import ErrorLog
    from platforms.quota import quota_day as day_of

    # The reset is the first instant of the next day: the day is just before.
    day = (quota_day or day_of(exhausted_until - timedelta(seconds=1))).isoformat()
    seen = ErrorLog.objects.filter(
        platform=platform,
        error_class=ErrorLog.ErrorClass.QUOTA,
        code=QUOTA_EXHAUSTED_CODE,
        context__project=project,
        context__quota_day=day,
    )
    if seen.exists():
        return
    ErrorLog.objects.create(
        platform=platform,
        error_class=ErrorLog.ErrorClass.QUOTA,
        code=QUOTA_EXHAUSTED_CODE,
        reason=(reason or "quotaExceeded")[:128],
        message=(
            f"The daily quota of project {project} is spent; collection resumes "
            f"at the reset, {exhausted_until.isoformat()}."
        ),
        context={
            "project": project,
            "quota_day": day,
            "resets_at": exhausted_until.isoformat(),
        },
    )
