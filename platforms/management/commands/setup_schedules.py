"""Create or update the django-q2 schedules collection needs (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.models import Schedule


def schedules() -> tuple[dict[str, Any], ...]:
    """Every schedule, under a stable name: re-running updates them in place.

    Catching up on missed runs is off for the whole cluster
    (`Q_CLUSTER["catch_up"]`): a planner that was down does not run many
    times in a row when it comes back.
    """
    return (
        {
            "name": "socialmetrics: plan collections",
            "func": "platforms.tasks.plan_collections",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
        },
        {
            "name": "socialmetrics: reap stale runs",
            "func": "platforms.tasks.reap_stale_runs",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.COLLECTION_REAP_EVERY_MINUTES,
        },
        {
            "name": "socialmetrics: prune API call log",
            "func": "django.core.management.call_command",
            "args": "'prune_api_calls'",
            "schedule_type": Schedule.DAILY,
        },
    )


class Command(BaseCommand):
    help = "Create or update the schedules that drive collection (safe to re-run)."

    def handle(self, *args: Any, **options: Any) -> None:
        for spec in schedules():
            name = spec["name"]
            defaults = {key: value for key, value in spec.items() if key != "name"}
            defaults.setdefault("args", None)
            defaults.setdefault("minutes", None)
            defaults["repeats"] = -1
            _, created = Schedule.objects.update_or_create(name=name, defaults=defaults)
            self.stdout.write(f"{'created' if created else 'updated'}: {name}")
