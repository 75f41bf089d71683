"""Collect accounts in the foreground, with a progress bar.

The same services the workers run; useful for a first backfill on a server,
for debugging, and in cron-less setups. A throttled run is not left queued
behind a schedule only a qcluster would execute: the command waits for its
`retry_after` (the bar says so) and continues it, unless `--no-wait`, in
which case it says when and by whom the run will be continued.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from platforms.models import CollectionRun, ConnectedAccount, Platform
from platforms.services import collection

BAR_WIDTH = 30
#: How often to look at a run another worker is executing.
POLL_SECONDS = 1.0


class Command(BaseCommand):
    help = "Collect metrics now: one account, one platform, or every active account."
    #: Passed to the collectors (tests give a sandbox transport here).
    stealth_options = ("collector_kwargs",)
    sleep: ClassVar = staticmethod(time.sleep)

    def add_arguments(self, parser: Any) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--account", type=int, help="ConnectedAccount id")
        target.add_argument("--platform", choices=[p.value for p in Platform])
        target.add_argument("--all", action="store_true", help="every active account")
        parser.add_argument(
            "--backfill", action="store_true", help="the full history, not only recent"
        )
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="leave a throttled run queued for the workers instead of waiting",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.collector_kwargs = options.get("collector_kwargs") or {}
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
            finished = self._to_the_end(account, run.pk, wait=not options["no_wait"])
            self.stdout.write("")
            line = f"{account}: {finished.status} {finished.counts}"
            if finished.error_summary:
                line += f" — {finished.error_summary}"
            if finished.status == CollectionRun.Status.QUEUED:
                self.stdout.write(
                    f"{line}\n  Left queued: a running qcluster continues it after "
                    f"{finished.run_after:%H:%M:%S} (or run this command again)."
                )
            elif finished.status == CollectionRun.Status.FAILED:
                failed += 1
                self.stderr.write(line)
            else:
                self.stdout.write(line)
        if failed:
            raise CommandError(f"{failed} account(s) failed; see the error log.")

    def _to_the_end(
        self, account: ConnectedAccount, run_id: int, *, wait: bool
    ) -> CollectionRun:
        """Execute the run here, waiting out throttling, until it ends."""
        draw = self._draw(account)
        while True:
            collection.run_execute(
                run_id=run_id, listener=draw, **self.collector_kwargs
            )
            run = CollectionRun.objects.get(pk=run_id)
            if run.status not in CollectionRun.ACTIVE_STATUSES:
                return run
            if run.status == CollectionRun.Status.RUNNING:
                # A qcluster worker took it (its retry schedule fired first).
                draw(run, note="running in a worker")
                self.sleep(POLL_SECONDS)
                continue
            if not wait:
                return run
            left = (
                (run.run_after - timezone.now()).total_seconds() if run.run_after else 0
            )
            draw(run, note=f"throttled; resumes in {max(0, left):.0f} s")
            if left > 0:
                self.sleep(left)

    def _draw(self, account: ConnectedAccount):
        def draw(run: CollectionRun, note: str = "") -> None:
            total = run.progress_total or 0
            done = min(run.progress_done, total) if total else run.progress_done
            filled = int(BAR_WIDTH * done / total) if total else 0
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            suffix = f" ({note})" if note else ""
            self.stdout.write(
                f"\r{account} [{bar}] {done}/{total or '?'}{suffix}", ending=""
            )
            self.stdout.flush()

        return draw
