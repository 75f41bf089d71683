"""Create (or repair) the demo login: an admin user who logs in by email."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction


class Command(BaseCommand):
    help = "Create the demo user, or reset its password and rights if it exists."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    @transaction.atomic
    def handle(self, *args: Any, email: str, password: str, **options: Any) -> None:
        User = get_user_model()
        user = User.objects.filter(email__iexact=email).first()
        created = user is None
        if created:
            user = User(username=email.split("@")[0], email=email)
        # The demo prints one password; keep it true even if it was changed.
        if created or not user.check_password(password):
            user.set_password(password)
        # Staff and superuser: the demo is local and the admin is half of it.
        user.is_active = user.is_staff = user.is_superuser = True
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} the demo user {email}.")
