"""Log in, sign up and log out: the site layout, labelled fields, working forms."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse


@pytest.mark.django_db
def test_it_renders_login_in_the_site_layout_with_labelled_fields(client):
    html = client.get(reverse("account_login")).content.decode()
    assert 'class="skip-link"' in html  # extends templates/base.html
    assert "<title>Log in · socialmetrics</title>" in html
    assert '<label for="id_login"' in html
    assert '<label for="id_password"' in html


def test_it_logs_in_with_email_and_password(client, creator):
    response = client.post(
        reverse("account_login"),
        {"login": "creator@example.com", "password": "pw-creator-1"},
    )
    assert response.status_code == 302
    assert response.url == reverse("dashboard:overview")


def test_it_shows_an_accessible_error_for_a_wrong_password(client, creator):
    response = client.post(
        reverse("account_login"),
        {"login": "creator@example.com", "password": "wrong"},
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


@pytest.mark.django_db
def test_it_signs_up_a_new_creator(client):
    html = client.get(reverse("account_signup")).content.decode()
    assert '<label for="id_email"' in html
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-passphrase-42",
            "password2": "a-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(email="new@example.com").exists()


def test_it_logs_out_with_a_post(client, creator):
    client.force_login(creator)
    page = client.get(reverse("account_logout")).content.decode()
    assert '<h1 id="logout-title">Log out</h1>' in page
    client.post(reverse("account_logout"))
    assert client.get(reverse("dashboard:overview")).status_code == 302
