"""The quota ledger: units spent of a platform project's daily quota.

YouTube gives every Google Cloud project a number of units per day that
resets at midnight America/Los_Angeles (so the day is 23 or 25 hours long
around DST changes). Every request costs units, failed ones too, so the
ledger is charged *before* a call is sent, with one conditional UPDATE::

    UPDATE quotausage SET units_used = units_used + cost
     WHERE id = ? AND units_used + cost <= limit
       AND (exhausted_until IS NULL OR exhausted_until <= now)

Concurrent workers therefore cannot overshoot. A call that would pass the
quota is refused without being sent. When the platform says the quota is
spent (`quotaExceeded`), the project is marked exhausted until the next
reset; the first such mark of a quota day sends
`platforms.signals.notify_quota_exceeded` (once per project and day).

Reference: https://developers.google.com/youtube/v3/getting-started#quota
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from platforms.exceptions import PlatformQuotaError, error_class_for
from platforms.signals import notify_quota_exceeded

PACIFIC = ZoneInfo("America/Los_Angeles")

#: YouTube unit costs; `YouTubeClient.configure_quota` overrides them.
DEFAULT_YOUTUBE_COSTS: dict[str, int] = {
    "data_read": 1,  # videos.list, channels.list, playlistItems.list per page
    "analytics_read": 1,  # (unsure) Analytics API requests
    "search": 100,
    "video_upload": 1600,
}


def quota_day(now: datetime, tz: ZoneInfo = PACIFIC) -> date:
    """The quota day `now` falls in, in the platform's reset time zone."""
    return now.astimezone(tz).date()


def next_reset(now: datetime, tz: ZoneInfo = PACIFIC) -> datetime:
    """The next local midnight after `now`, as an aware UTC datetime."""
    tomorrow = quota_day(now, tz) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=tz).astimezone(UTC)


class QuotaLedger:
    """Charge and inspect one project's daily quota on one platform."""

    def __init__(
        self,
        *,
        platform: str,
        project: str,
        daily_limit: int,
        tz: ZoneInfo = PACIFIC,
    ) -> None:
        self.platform = platform
        self.project = project
        self.daily_limit = daily_limit
        self.tz = tz

    def _row(self, now: datetime):
        from platforms.models import QuotaUsage

        lookup = {
            "platform": self.platform,
            "project": self.project,
            "day": quota_day(now, self.tz),
        }
        defaults = {"limit": self.daily_limit, "resets_at": next_reset(now, self.tz)}
        try:
            row, _ = QuotaUsage.objects.get_or_create(**lookup, defaults=defaults)
        except IntegrityError:  # another worker created today's row first
            row = QuotaUsage.objects.get(**lookup)
        if row.limit != self.daily_limit:
            QuotaUsage.objects.filter(pk=row.pk).update(
                limit=self.daily_limit, updated_at=timezone.now()
            )
            row.limit = self.daily_limit
        return row

    def usage(self, *, now: datetime | None = None):
        """Today's `QuotaUsage` row (created on first use)."""
        return self._row(now or datetime.now(UTC))

    def charge(
        self, units: int, *, now: datetime | None = None, what: str = ""
    ) -> None:
        """Spend `units` before a call, or raise the quota error without sending."""
        from platforms.models import QuotaUsage

        if units <= 0:
            return
        now = now or datetime.now(UTC)
        row = self._row(now)
        charged = (
            QuotaUsage.objects.filter(pk=row.pk, units_used__lte=F("limit") - units)
            .filter(Q(exhausted_until__isnull=True) | Q(exhausted_until__lte=now))
            # update() skips auto_now; the staff page's "fetched" time and the
            # admin's "Updated at" read updated_at, so set it with each charge.
            .update(units_used=F("units_used") + units, updated_at=timezone.now())
        )
        if charged:
            return
        row.refresh_from_db()
        error = error_class_for(self.platform, PlatformQuotaError)
        exhausted = row.exhausted_until is not None and row.exhausted_until > now
        raise error(
            f"{self.platform} quota for {self.project}: {what or 'call'} needs "
            f"{units} units, {row.units_used}/{row.limit} used"
            + (" (exhausted by the platform)" if exhausted else ""),
            code="quota_exhausted" if exhausted else "quota_would_exceed",
            reason="quotaExceeded",
            retry_after=(row.resets_at - now).total_seconds(),
            permanent=True,
            context={"units": units, "used": row.units_used, "limit": row.limit},
        )

    def mark_exhausted(
        self, *, now: datetime | None = None, reason: str = ""
    ) -> datetime:
        """Record that the platform says the quota is spent until the reset.

        The first mark of the quota day sends `notify_quota_exceeded`; the
        conditional UPDATE decides which worker's mark is first, so the
        signal goes out once per project and day however many race.
        """
        from platforms.models import QuotaUsage

        now = now or datetime.now(UTC)
        row = self._row(now)
        until = next_reset(now, self.tz)
        first = (
            QuotaUsage.objects.filter(pk=row.pk)
            .filter(Q(exhausted_until__isnull=True) | Q(exhausted_until__lt=until))
            .update(exhausted_until=until, updated_at=timezone.now())
        )
        if first:
            notify_quota_exceeded.send(
                sender=QuotaLedger,
                platform=self.platform,
                project=self.project,
                exhausted_until=until,
                reason=reason or "quotaExceeded",
                quota_day=quota_day(now, self.tz),
            )
        return until
