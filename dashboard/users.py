"""How the product names a user in messages and pages."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser


def display_name(user: AbstractBaseUser) -> str:
    """The email a creator signs in with (allauth's ACCOUNT_USER_DISPLAY)."""
    return getattr(user, "email", "") or user.get_username()
