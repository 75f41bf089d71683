"""Create or update the django-q2 schedules collection needs (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_q.models import Schedule

#: Stable names: django-q2 refuses duplicates, and re-running updates in place.
SCHEDULES = (
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
        "minutes": 5,
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
        for spec in SCHEDULES:
            name = spec["name"]
            defaults = {key: value for key, value in spec.items() if key != "name"}
            defaults.setdefault("args", None)
            defaults["repeats"] = -1
            _, created = Schedule.objects.update_or_create(name=name, defaults=defaults)
            self.stdout.write(f"{'created' if created else 'updated'}: {name}")
