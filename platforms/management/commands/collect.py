"""Collect accounts in the foreground, with a progress bar.

The same services the workers run; useful for a first backfill on a server,
for debugging, and in cron-less setups.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from platforms.models import CollectionRun, ConnectedAccount, Platform
from platforms.services import collection

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Collect metrics now: one account, one platform, or every active account."

    def add_arguments(self, parser: Any) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--account", type=int, help="ConnectedAccount id")
        target.add_argument("--platform", choices=[p.value for p in Platform])
        target.add_argument("--all", action="store_true", help="every active account")
        parser.add_argument(
            "--backfill", action="store_true", help="the full history, not only recent"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = ConnectedAccount.objects.filter(
            status__in=[ConnectedAccount.Status.ACTIVE, ConnectedAccount.Status.PAUSED]
        )
        if options["account"]:
            accounts = ConnectedAccount.objects.filter(pk=options["account"])
            if not accounts.exists():
                raise CommandError(f"No account with id {options['account']}.")
        elif options["platform"]:
            accounts = accounts.filter(platform=options["platform"])
        kind = (
            CollectionRun.Kind.BACKFILL
            if options["backfill"]
            else CollectionRun.Kind.MANUAL
        )
        failed = 0
        for account in accounts.order_by("pk"):
            run = collection.run_create(account=account, kind=kind)
            if run is None:
                self.stderr.write(f"{account}: another run is active; skipped")
                continue
            finished = collection.run_execute(
                run_id=run.pk, listener=self._draw(account)
            )
            sys.stdout.write("\n")
            if finished is None:
                continue
            line = f"{account}: {finished.status} {finished.counts}"
            if finished.error_summary:
                line += f" — {finished.error_summary}"
            if finished.status == CollectionRun.Status.FAILED:
                failed += 1
                self.stderr.write(line)
            else:
                self.stdout.write(line)
        if failed:
            raise CommandError(f"{failed} account(s) failed; see the error log.")

    def _draw(self, account: ConnectedAccount):
        def draw(run: CollectionRun) -> None:
            total = run.progress_total or 0
            done = min(run.progress_done, total) if total else run.progress_done
            filled = int(BAR_WIDTH * done / total) if total else 0
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            sys.stdout.write(f"\r{account} [{bar}] {done}/{total or '?'}")
            sys.stdout.flush()

        return draw
