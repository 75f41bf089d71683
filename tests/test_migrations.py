"""The committed migrations match the models of every installed app."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_makemigrations_check_finds_no_drift():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        pytest.fail(
            f"models changed without a migration (exit {exc.code}):\n{out.getvalue()}"
        )

    assert "No changes detected" in out.getvalue()
