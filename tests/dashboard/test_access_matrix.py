"""Every dashboard URL × {anonymous, other creator, owner, staff}."""

import pytest
from django.urls import reverse

from platforms.models import ConnectedAccount, ErrorLog
from tests.dashboard.conftest import populate

LOGIN = "login"  # any redirect to a login page


@pytest.fixture
def world(youtube_account):
    populate(youtube_account, items=2, days=3)
    item = youtube_account.items.first()
    error = ErrorLog.objects.create(
        platform="youtube", error_class="api", message="boom", account=youtube_account
    )
    return {"account": youtube_account.pk, "item": item.pk, "error": error.pk}


# url name, args key, expected for (anonymous, other, owner, staff)
MATRIX = [
    ("dashboard:overview", None, (LOGIN, 200, 200, 200)),
    ("dashboard:compare", None, (LOGIN, 200, 200, 200)),
    ("dashboard:preferences", None, (LOGIN, 200, 200, 200)),
    ("dashboard:connections", None, (LOGIN, 200, 200, 200)),
    ("dashboard:connection_runs", None, (LOGIN, 200, 200, 200)),
    # A creator's own data: nobody else's business, staff included (staff
    # read raw rows in the admin, not another creator's dashboard).
    ("dashboard:account", "account", (LOGIN, 404, 200, 404)),
    ("dashboard:item", "item", (LOGIN, 404, 200, 404)),
    ("dashboard:staff-quota", None, (LOGIN, LOGIN, LOGIN, 200)),
    ("dashboard:staff-rate-limits", None, (LOGIN, LOGIN, LOGIN, 200)),
    ("dashboard:staff-errors", None, (LOGIN, LOGIN, LOGIN, 200)),
    ("dashboard:staff-error", "error", (LOGIN, LOGIN, LOGIN, 200)),
    ("dashboard:staff-api-health", None, (LOGIN, LOGIN, LOGIN, 200)),
    ("dashboard:staff-api-explorer", None, (LOGIN, LOGIN, LOGIN, 200)),
    ("dashboard:healthz", None, (200, 200, 200, 200)),
]


@pytest.mark.parametrize(("name", "arg", "expected"), MATRIX)
def test_each_url_answers_each_visitor_as_it_should(
    client, world, other_creator, staff_user, name, arg, expected
):
    url = reverse(name, args=[world[arg]] if arg else [])
    for visitor, want in zip(
        (None, other_creator, "owner", staff_user), expected, strict=True
    ):
        client.logout()
        if visitor == "owner":
            client.force_login(ConnectedAccount.objects.get(pk=world["account"]).owner)
        elif visitor is not None:
            client.force_login(visitor)
        response = client.get(url)
        if want == LOGIN:
            assert response.status_code == 302, (name, visitor)
            assert "login" in response["Location"], (name, visitor)
        else:
            assert response.status_code == want, (name, visitor)
