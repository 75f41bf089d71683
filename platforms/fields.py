"""Model fields: text that is encrypted before it reaches the database."""

from __future__ import annotations

from typing import Any

from django.db import models

from platforms import crypto


class EncryptedTextField(models.TextField):
    """A TextField stored as a Fernet token; Python code sees plaintext.

    Empty strings stay empty so "no refresh token" is visible without a key.
    Lookups other than isnull/exact-empty are meaningless on ciphertext.
    """

    description = "Text encrypted at rest with MultiFernet"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value in (None, ""):
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)
