"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from platforms.models import ConnectedAccount, Platform


@pytest.fixture(scope="session", autouse=True)
def _collected_static(tmp_path_factory, django_test_environment):
    """Run collectstatic once, as deployment does, so the manifest exists."""
    from django.conf import settings
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path_factory.mktemp("staticfiles")
    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture
def creator(db):
    return get_user_model().objects.create_user(
        username="creator", email="creator@example.com", password="pw-creator-1"
    )


@pytest.fixture
def other_creator(db):
    return get_user_model().objects.create_user(
        username="other", email="other@example.com", password="pw-other-1"
    )


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        username="staff",
        email="staff@example.com",
        password="pw-staff-1",
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def youtube_account(creator):
    return ConnectedAccount.objects.create(
        owner=creator,
        platform=Platform.YOUTUBE,
        platform_user_id="UC_example_channel_0001",
        handle="@example",
        display_name="Example Channel",
    )
