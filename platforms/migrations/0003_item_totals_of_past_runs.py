"""Item totals for the readings stored before collection runs wrote them.

Account charts and cards derive the per-period parts of engagement from the
item totals every collection run now ends with
(`platforms.services.storage.item_totals_upsert`). Readings from earlier
runs have none, so their periods would be gaps: this computes the totals as
they stood at each past fetch time, oldest first, so each one knows the
total before it. It runs the storage service itself, on purpose: one
definition of a total, and a new database has no readings for it to read.
"""

from django.db import migrations

TOTALS = ("view_count", "like_count", "comment_count", "share_count")


def totals_of_past_runs(apps, schema_editor):
    from platforms.services.storage import item_totals_upsert

    account_model = apps.get_model("platforms", "ConnectedAccount")
    snapshot_model = apps.get_model("platforms", "MetricSnapshot")
    for account in account_model.objects.order_by("pk").iterator():
        times = (
            snapshot_model.objects.filter(
                account_id=account.pk, item__isnull=False, metric__in=TOTALS
            )
            .order_by("fetched_at")
            .values_list("fetched_at", flat=True)
            .distinct()
        )
        for at in times.iterator():
            item_totals_upsert(account=account, fetched_at=at)


def forget_totals(apps, schema_editor):
    snapshot_model = apps.get_model("platforms", "MetricSnapshot")
    snapshot_model.objects.filter(
        item__isnull=True, metric__in=[f"items.{metric}" for metric in TOTALS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("platforms", "0002_run_fence_checkpoint_and_refresh_lease"),
    ]

    operations = [migrations.RunPython(totals_of_past_runs, forget_totals)]
