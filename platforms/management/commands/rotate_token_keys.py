"""Re-encrypt every stored OAuth token under the newest TOKEN_ENCRYPTION_KEYS key.

Rotation: put a new key first in TOKEN_ENCRYPTION_KEYS (keep the old ones
after it), restart, run this command, then drop the old keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from platforms import crypto
from platforms.models import Credential

TOKEN_FIELDS = ["access_token", "refresh_token"]


class Command(BaseCommand):
    help = "Re-encrypt every Credential token under the newest encryption key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=200,
            help="Rows read and written per query (default 200).",
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        crypto.reset_cache()  # the keys may have changed since start-up
        rotated = 0
        # One transaction: either every row moves to the new key or none does,
        # so old keys can be dropped as soon as the command succeeds.
        with transaction.atomic():
            try:
                for batch in _batches(batch_size):
                    Credential.objects.bulk_update(batch, TOKEN_FIELDS)
                    rotated += len(batch)
            except InvalidToken as error:
                raise CommandError(
                    "A stored token cannot be decrypted with any key in "
                    "TOKEN_ENCRYPTION_KEYS; nothing was changed. Add the key it "
                    "was encrypted with (after the new one) and run again."
                ) from error
        self.stdout.write(f"Re-encrypted {rotated} credential(s) under the newest key.")


def _batches(size: int) -> Iterator[list[Credential]]:
    """Locked batches of credentials in key order.

    Loading decrypts with any key; saving encrypts with the first. Keyset
    pages, not a server-side cursor, so a failure leaves no open cursor in
    the aborted transaction.
    """
    last_pk = 0
    while True:
        rows = Credential.objects.select_for_update().filter(pk__gt=last_pk)
        batch = list(rows.order_by("pk")[:size])
        if not batch:
            return
        yield batch
        last_pk = batch[-1].pk
