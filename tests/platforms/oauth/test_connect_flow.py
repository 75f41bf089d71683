"""The browser connect flow through the real allauth views and the sandbox.

Each test presses Connect on the test client, answers the sandbox consent
page over loopback HTTP and replays the platform's redirect to our callback.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from platforms.models import CollectionRun, ConnectedAccount, Credential, Platform
from tests.platforms.oauth.flow import connect, consent, follow_back, start_connect

PROVIDERS = {"tiktok": "tiktok", "google": "youtube", "facebook": "instagram"}


@pytest.fixture
def browser(client, creator, sandbox):
    client.force_login(creator)
    return client


def _stored_columns(credential: Credential) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM platforms_credential"
            " WHERE id = %s",
            [credential.pk],
        )
        return cursor.fetchone()


def _assert_nothing_connected() -> None:
    assert ConnectedAccount.objects.count() == 0
    assert Credential.objects.count() == 0
    assert CollectionRun.objects.count() == 0
    assert SocialAccount.objects.count() == 0


def _connect(browser, provider, capture, **kwargs):
    with capture(execute=True):
        return connect(browser, provider, **kwargs)


def test_it_connects_a_tiktok_account(
    browser, creator, sandbox, task_queue, django_capture_on_commit_callbacks
):
    response = _connect(browser, "tiktok", django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert response["Location"] == "/connections/"
    account = ConnectedAccount.objects.get()
    first = sandbox.world.accounts("tiktok")[0]
    assert account.owner == creator
    assert account.platform == Platform.TIKTOK
    assert account.handle == f"@{first.handle}"
    assert account.platform_user_id and account.union_id
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.social_account == SocialAccount.objects.get(provider="tiktok")
    assert account.social_account.uid == account.platform_user_id
    credential = account.credential
    assert credential.access_token.startswith("act.")
    assert credential.refresh_token.startswith("rft.")
    assert credential.access_expires_at > timezone.now()
    assert credential.refresh_expires_at > credential.access_expires_at
    assert {"user.info.basic", "video.list"} <= set(credential.scopes)
    stored_access, stored_refresh = _stored_columns(credential)
    assert credential.access_token not in stored_access
    assert credential.refresh_token not in stored_refresh
    # allauth's plaintext token table stays empty; no token in extra_data.
    assert SocialToken.objects.count() == 0
    assert "act." not in str(account.social_account.extra_data)
    run = CollectionRun.objects.get(account=account)
    assert (run.kind, run.status) == ("backfill", "queued")
    [task] = task_queue.tasks()
    assert task["func"] == "platforms.tasks.run_collection"
    assert task["args"] == (run.pk,)
    assert task["id"] == run.task_id


def test_it_connects_a_youtube_channel_with_an_offline_grant(
    browser, sandbox, task_queue, django_capture_on_commit_callbacks
):
    authorize_url = start_connect(browser, "google")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert "code_challenge" in query  # PKCE
    with django_capture_on_commit_callbacks(execute=True):
        response = follow_back(browser, consent(authorize_url))

    assert response["Location"] == "/connections/"
    account = ConnectedAccount.objects.get()
    first = sandbox.world.accounts("youtube")[0]
    assert account.platform == Platform.YOUTUBE
    assert account.platform_user_id == first.external_id
    assert account.platform_user_id.startswith("UC")
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.credential.refresh_token
    assert sandbox.requests.count(endpoint="youtube.channels") == 1
    assert len(task_queue.tasks()) == 1


def test_it_connects_the_instagram_account_behind_a_facebook_login(
    browser, sandbox, task_queue, django_capture_on_commit_callbacks
):
    response = _connect(browser, "facebook", django_capture_on_commit_callbacks)

    assert response["Location"] == "/connections/"
    account = ConnectedAccount.objects.get()
    first = sandbox.world.accounts("instagram")[0]
    assert account.platform == Platform.INSTAGRAM
    assert account.platform_user_id == first.external_id
    assert account.page_id
    assert account.handle == f"@{first.handle}"
    assert account.account_type == ConnectedAccount.AccountType.BUSINESS
    # The short-lived token was exchanged for a ~60-day one.
    assert sandbox.requests.count(endpoint="facebook.oauth.access_token") == 2
    credential = account.credential
    assert credential.access_expires_at > timezone.now() + dt.timedelta(days=50)
    assert credential.refresh_token == ""
    assert len(task_queue.tasks()) == 1


def test_it_connects_several_accounts_of_one_platform(
    browser, sandbox, django_capture_on_commit_callbacks
):
    first, second = sandbox.world.accounts("tiktok")[:2]
    for sandbox_account in (first, second):
        _connect(
            browser,
            "tiktok",
            django_capture_on_commit_callbacks,
            account=sandbox_account.id,
        )
    handles = set(ConnectedAccount.objects.values_list("handle", flat=True))
    assert handles == {f"@{first.handle}", f"@{second.handle}"}
    assert CollectionRun.objects.count() == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_ends_on_a_clear_page_when_consent_is_denied(
    browser, provider, task_queue, django_capture_on_commit_callbacks
):
    response = _connect(
        browser, provider, django_capture_on_commit_callbacks, decision="deny"
    )
    assert response.status_code == 302
    page = browser.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Connection cancelled" in html
    assert 'href="/connections/"' in html
    _assert_nothing_connected()
    assert task_queue.tasks() == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_refuses_a_replayed_callback(
    browser, provider, task_queue, django_capture_on_commit_callbacks
):
    back = consent(start_connect(browser, provider))
    with django_capture_on_commit_callbacks(execute=True):
        follow_back(browser, back)
    token_before = Credential.objects.get().access_token

    with django_capture_on_commit_callbacks(execute=True):
        replay = follow_back(browser, back)

    html = replay.content.decode()
    assert replay.status_code == 401
    assert "expired or was already used" in html
    assert 'href="/connections/"' in html
    assert ConnectedAccount.objects.count() == 1
    assert Credential.objects.get().access_token == token_before
    assert CollectionRun.objects.count() == 1
    assert len(task_queue.tasks()) == 1


def test_it_refuses_a_replayed_code_under_a_fresh_state(
    browser, sandbox, django_capture_on_commit_callbacks
):
    back = consent(start_connect(browser, "tiktok"))
    with django_capture_on_commit_callbacks(execute=True):
        follow_back(browser, back)
    old_code = parse_qs(urlsplit(back).query)["code"][0]
    fresh_state = parse_qs(urlsplit(start_connect(browser, "tiktok")).query)["state"]

    replay = browser.get(
        "/accounts/tiktok/login/callback/?"
        + urlencode({"code": old_code, "state": fresh_state[0]})
    )

    assert replay.status_code == 401
    assert "did not accept the authorization" in replay.content.decode()
    assert ConnectedAccount.objects.count() == 1
    assert sandbox.requests.count(endpoint="tiktok.oauth.token", status=200) == 1


def test_it_refuses_a_callback_with_an_unknown_state(browser):
    response = browser.get("/accounts/google/login/callback/?code=x&state=forged")
    assert response.status_code == 401
    assert "expired or was already used" in response.content.decode()
    _assert_nothing_connected()


def test_it_reports_a_failing_token_endpoint(browser, sandbox):
    sandbox.faults.add("status_503", platform="tiktok", endpoint="tiktok.oauth.token")
    response = connect(browser, "tiktok")
    assert response.status_code == 401
    assert "did not accept the authorization" in response.content.decode()
    _assert_nothing_connected()


def test_it_reports_a_failing_profile_call(browser, sandbox):
    sandbox.faults.add("status_500", platform="tiktok", endpoint="tiktok.user.info")
    response = connect(browser, "tiktok")
    assert response.status_code == 401
    assert "TikTok did not return your profile" in response.content.decode()
    _assert_nothing_connected()


def test_it_reports_a_failing_channel_lookup_and_saves_nothing(browser, sandbox):
    sandbox.faults.add("status_500", platform="youtube", endpoint="youtube.channels")
    response = connect(browser, "google")
    html = response.content.decode()
    assert response.status_code == 400
    assert "YouTube did not list your channel (HTTP 500)" in html
    assert ConnectedAccount.objects.count() == 0
    assert Credential.objects.count() == 0


def test_it_marks_youtube_reconnect_needed_when_google_sends_no_refresh_token(
    browser, django_capture_on_commit_callbacks
):
    _connect(browser, "google", django_capture_on_commit_callbacks)
    account = ConnectedAccount.objects.get()
    browser.post(f"/connections/{account.pk}/disconnect/")

    # A second grant without prompt=consent: Google sends no refresh token.
    response = _connect(
        browser,
        "google",
        django_capture_on_commit_callbacks,
        auth_params="access_type=offline&prompt=select_account",
    )

    assert response["Location"] == "/connections/"
    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.RECONNECT_NEEDED
    assert "did not send a refresh token" in account.status_reason
    assert account.credential.access_token and not account.credential.refresh_token
    assert not account.runs.filter(status=CollectionRun.Status.QUEUED).exists()
    page = browser.get("/connections/").content.decode()
    assert "Reconnect needed" in page and "did not send a refresh token" in page


def test_it_reconnects_the_same_account_with_new_tokens(
    browser, django_capture_on_commit_callbacks
):
    _connect(browser, "tiktok", django_capture_on_commit_callbacks)
    account = ConnectedAccount.objects.get()
    old_token = account.credential.access_token
    account.status = ConnectedAccount.Status.RECONNECT_NEEDED
    account.status_reason = "TikTok revoked the token."
    account.save()

    response = _connect(browser, "tiktok", django_capture_on_commit_callbacks)

    assert response["Location"] == "/connections/"
    account.refresh_from_db()
    assert ConnectedAccount.objects.count() == 1
    assert SocialAccount.objects.count() == 1
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.status_reason == ""
    assert Credential.objects.get(account=account).access_token != old_token


def test_it_reconnects_a_disconnected_account(
    browser, django_capture_on_commit_callbacks
):
    _connect(browser, "facebook", django_capture_on_commit_callbacks)
    account = ConnectedAccount.objects.get()
    browser.post(f"/connections/{account.pk}/disconnect/")
    assert not Credential.objects.filter(account=account).exists()

    _connect(browser, "facebook", django_capture_on_commit_callbacks)

    account.refresh_from_db()
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert Credential.objects.filter(account=account).exists()
    # The cancelled first backfill is replaced by a new one.
    assert account.runs.filter(status=CollectionRun.Status.QUEUED).count() == 1


def test_it_does_not_offer_signing_in_with_a_platform(client, db, sandbox):
    users = get_user_model().objects.count()
    authorize_url = start_connect(client, "tiktok", process="login")
    response = follow_back(client, consent(authorize_url))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Signing in with TikTok is not offered" in html
    assert get_user_model().objects.count() == users
    _assert_nothing_connected()


def test_it_does_not_hand_one_creators_account_to_another(
    client, creator, other_creator, sandbox, django_capture_on_commit_callbacks
):
    client.force_login(creator)
    _connect(client, "tiktok", django_capture_on_commit_callbacks)
    client.force_login(other_creator)

    response = _connect(client, "tiktok", django_capture_on_commit_callbacks)

    assert response["Location"] == "/connections/"
    page = client.get("/connections/").content.decode()
    assert "already connected by another socialmetrics user" in page
    assert not ConnectedAccount.objects.filter(owner=other_creator).exists()
    assert ConnectedAccount.objects.get().owner == creator


def test_it_sends_a_visitor_who_is_not_logged_in_to_log_in(client, db, sandbox):
    response = connect(client, "tiktok")
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"].startswith("/accounts/login/")
    _assert_nothing_connected()


def test_it_explains_a_spent_youtube_quota_and_saves_nothing(browser, sandbox):
    from platforms.clients.youtube import YouTubeClient

    YouTubeClient().ledger.mark_exhausted(reason="test")
    response = connect(browser, "google")
    assert response.status_code == 400
    assert "daily API quota for this site is used up" in response.content.decode()
    assert sandbox.requests.count(endpoint="youtube.channels") == 0
    assert ConnectedAccount.objects.count() == 0


def test_it_charges_the_channel_lookup_to_the_youtube_quota(
    browser, django_capture_on_commit_callbacks
):
    from platforms.clients.youtube import YouTubeClient

    _connect(browser, "google", django_capture_on_commit_callbacks)
    assert YouTubeClient().ledger.usage().units_used == 1


def test_it_shows_the_platforms_own_error(browser, sandbox):
    creds = sandbox.config["credentials"]["tiktok"]
    approved = creds["approved_scopes"]
    creds["approved_scopes"] = [s for s in approved if s != "video.list"]
    try:
        # TikTok rejects an unapproved scope before showing any consent page.
        refusal = httpx.get(start_connect(browser, "tiktok"))
    finally:
        creds["approved_scopes"] = approved
    response = follow_back(browser, refusal.headers["location"])
    html = response.content.decode()
    assert response.status_code == 401
    assert (
        "The platform refused the request: Scope(s) not authorized: video.list" in html
    )
    _assert_nothing_connected()


TOKEN_ENDPOINTS = {
    "tiktok": ("tiktok", "tiktok.oauth.token"),
    "google": ("youtube", "google.oauth.token"),
    "facebook": ("instagram", "facebook.oauth.access_token"),
}


@pytest.mark.parametrize("fault", ["malformed_json", "truncated_json", "drop"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_survives_a_broken_token_reply(browser, sandbox, provider, fault):
    platform, endpoint = TOKEN_ENDPOINTS[provider]
    sandbox.faults.add(fault, platform=platform, endpoint=endpoint)
    response = connect(browser, provider)
    assert response.status_code == 401
    assert "Nothing was changed" in response.content.decode()
    _assert_nothing_connected()


@pytest.mark.parametrize("fault", ["malformed_json", "drop"])
def test_it_survives_a_broken_instagram_discovery(browser, sandbox, fault):
    sandbox.faults.add(fault, platform="instagram", endpoint="graph.me.accounts")
    response = connect(browser, "facebook")
    assert response.status_code == 400
    assert "Facebook did not list your Pages" in response.content.decode()
    _assert_nothing_connected()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_sends_the_documented_https_redirect_uri(browser, settings, provider):
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"  # what HTTPS=1 sets
    query = parse_qs(urlsplit(start_connect(browser, provider)).query)
    assert query["redirect_uri"] == [
        f"https://testserver/accounts/{provider}/login/callback/"
    ]


def test_it_asks_tiktok_only_for_fields_of_granted_scopes(
    browser, sandbox, django_capture_on_commit_callbacks
):
    response = _connect(
        browser,
        "tiktok",
        django_capture_on_commit_callbacks,
        scope="user.info.basic,video.list",
    )
    assert response["Location"] == "/connections/"
    account = ConnectedAccount.objects.get()
    assert account.status == ConnectedAccount.Status.ACTIVE
    assert account.display_name  # from user.info.basic
    assert account.handle == ""  # username needs user.info.profile
    assert account.credential.scopes == ["user.info.basic", "video.list"]


@pytest.mark.parametrize(
    ("provider", "scope", "missing"),
    [
        ("tiktok", "user.info.basic,user.info.profile", "video.list"),
        (
            "google",
            "openid email profile https://www.googleapis.com/auth/youtube.readonly",
            "yt-analytics.readonly",
        ),
    ],
)
def test_it_marks_reconnect_needed_when_a_permission_was_unticked(
    browser, provider, scope, missing, task_queue, django_capture_on_commit_callbacks
):
    _connect(browser, provider, django_capture_on_commit_callbacks, scope=scope)
    account = ConnectedAccount.objects.get()
    assert account.status == ConnectedAccount.Status.RECONNECT_NEEDED
    assert missing in account.status_reason
    assert task_queue.tasks() == []


def test_it_explains_a_tiktok_login_without_basic_user_info(browser):
    response = connect(browser, "tiktok", scope="video.list")
    assert response.status_code == 401
    assert "did not share your basic profile" in response.content.decode()
    _assert_nothing_connected()
