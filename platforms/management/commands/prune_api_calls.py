"""Delete API call log rows older than the retention period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from platforms.models import ApiCallLog

# Small deletes keep each write transaction short, so collectors writing new
# log rows at the same time are not blocked for long (SQLite has one writer).
DELETE_BATCH = 5000


def prune_api_calls(*, older_than_days: int) -> int:
    """Delete ApiCallLog rows created more than `older_than_days` ago."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    old = ApiCallLog.objects.filter(created_at__lt=cutoff)
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:DELETE_BATCH])
        if not ids:
            return deleted
        deleted += ApiCallLog.objects.filter(pk__in=ids).delete()[0]


class Command(BaseCommand):
    help = "Delete API call log rows older than API_CALL_LOG_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days (default: settings.API_CALL_LOG_RETENTION_DAYS).",
        )

    def handle(self, *args: Any, days: int | None, **options: Any) -> None:
        if days is None:
            days = settings.API_CALL_LOG_RETENTION_DAYS
        if days < 1:
            raise CommandError("--days must be at least 1.")
        deleted = prune_api_calls(older_than_days=days)
        self.stdout.write(
            f"Deleted {deleted} API call log row(s) older than {days} days."
        )
