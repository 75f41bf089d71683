"""Management commands: key rotation and API call log pruning."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from platforms import crypto
from platforms.models import ApiCallLog, ConnectedAccount, Credential

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _fresh_fernet():
    crypto.reset_cache()
    yield
    crypto.reset_cache()


def _raw_tokens() -> dict[int, tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, access_token, refresh_token FROM platforms_credential"
        )
        return {pk: (access, refresh) for pk, access, refresh in cursor.fetchall()}


def _credentials(creator, count: int) -> None:
    for n in range(count):
        account = ConnectedAccount.objects.create(
            owner=creator, platform="tiktok", platform_user_id=f"open-{n}"
        )
        refresh = f"rft.refresh-{n}" if n % 2 else ""  # some have none
        Credential.objects.create(
            account=account, access_token=f"act.access-{n}", refresh_token=refresh
        )


def test_it_re_encrypts_every_token_under_the_newest_key(creator):
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_A]):
        crypto.reset_cache()
        _credentials(creator, 5)
    before = _raw_tokens()

    out = StringIO()
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        call_command("rotate_token_keys", "--batch-size", "2", stdout=out)
    assert "Re-encrypted 5 credential(s)" in out.getvalue()

    after = _raw_tokens()
    for pk, (access, refresh) in after.items():
        assert access != before[pk][0]
        assert (refresh == "") == (before[pk][1] == "")
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_B]):
        crypto.reset_cache()
        tokens = sorted(Credential.objects.values_list("access_token", flat=True))
        assert tokens == [f"act.access-{n}" for n in range(5)]
        assert Credential.objects.get(account__platform_user_id="open-1").refresh_token
        assert Fernet(KEY_B.encode()).decrypt(after[min(after)][0].encode())


def test_it_changes_nothing_when_a_token_cannot_be_decrypted(creator):
    with override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_A]):
        crypto.reset_cache()
        _credentials(creator, 2)
    before = _raw_tokens()
    with (
        override_settings(TOKEN_ENCRYPTION_KEYS=[KEY_B]),
        pytest.raises(CommandError, match="cannot be decrypted"),
    ):
        call_command("rotate_token_keys", stdout=StringIO())
    assert _raw_tokens() == before


def _call_log(age_days: float) -> ApiCallLog:
    return ApiCallLog.objects.create(
        platform="youtube",
        endpoint="youtube.videos",
        method="GET",
        created_at=timezone.now() - dt.timedelta(days=age_days),
    )


@pytest.mark.django_db
@override_settings(API_CALL_LOG_RETENTION_DAYS=30)
def test_it_prunes_api_calls_older_than_the_retention_setting():
    kept = [_call_log(1), _call_log(29.9)]
    for _ in range(3):
        _call_log(31)
    out = StringIO()
    call_command("prune_api_calls", stdout=out)
    assert "Deleted 3 API call log row(s) older than 30 days" in out.getvalue()
    assert set(ApiCallLog.objects.all()) == set(kept)


@pytest.mark.django_db
def test_it_prunes_with_the_days_option():
    recent, old = _call_log(2), _call_log(6)
    call_command("prune_api_calls", "--days", "5", stdout=StringIO())
    assert list(ApiCallLog.objects.all()) == [recent]
    assert not ApiCallLog.objects.filter(pk=old.pk).exists()


@pytest.mark.django_db
def test_it_refuses_a_retention_below_one_day():
    with pytest.raises(CommandError):
        call_command("prune_api_calls", "--days", "0")


# --- setup_schedules ------------------------------------------------------------


@pytest.mark.django_db
def test_setup_schedules_is_idempotent_with_stable_names(settings):
    from django_q.models import Schedule

    settings.COLLECTION_REAP_EVERY_MINUTES = 2
    first = StringIO()
    call_command("setup_schedules", stdout=first)
    rows = {s.name: (s.pk, s.func, s.minutes) for s in Schedule.objects.all()}
    assert set(rows) == {
        "socialmetrics: plan collections",
        "socialmetrics: reap stale runs",
        "socialmetrics: prune API call log",
    }
    assert rows["socialmetrics: reap stale runs"][2] == 2
    assert first.getvalue().count("created:") == 3

    again = StringIO()
    call_command("setup_schedules", stdout=again)
    assert again.getvalue().count("updated:") == 3
    assert {s.name: (s.pk, s.func, s.minutes) for s in Schedule.objects.all()} == rows
    # Missed runs are not caught up when a cluster comes back.
    assert settings.Q_CLUSTER["catch_up"] is False
    assert all(s.repeats == -1 for s in Schedule.objects.all())


# --- collect ----------------------------------------------------------------------

FROZEN_AT = "2026-06-15T12:00:00+00:00"


@pytest.fixture
def sandbox(time_machine, settings):
    from platforms.ratelimit import ENDPOINT_CLASSES, forget_known_buckets
    from platforms.sandbox import Sandbox

    time_machine.move_to(FROZEN_AT, tick=True)
    # Our own per-endpoint limits out of the way (the limiter has its tests);
    # the sandbox's limits and faults still apply.
    settings.PLATFORM_RATE_LIMITS = {
        platform: {
            name: "100000/m"
            for classes in ENDPOINT_CLASSES.values()
            for name, _per_account in classes
        }
        for platform in ("tiktok", "youtube", "instagram")
    }
    forget_known_buckets()
    yield Sandbox(
        seed=9,
        config={
            "clock": {"frozen_at": FROZEN_AT},
            "world": {
                "accounts": {"tiktok": 2, "youtube": 1, "instagram": 0},
                "items_per_account": 30,
                "history_days": 30,
            },
        },
    )
    forget_known_buckets()


@pytest.fixture
def connected(creator, sandbox):
    from platforms.tokens import save_token_reply

    def make(platform: str, index: int = 0) -> ConnectedAccount:
        world_account = sandbox.world.accounts(platform)[index]
        reply = sandbox.issue_tokens(platform, world_account.id)
        account = ConnectedAccount.objects.create(
            owner=creator,
            platform=platform,
            platform_user_id=reply.get("open_id") or world_account.external_id,
            handle=world_account.handle,
        )
        save_token_reply(account, reply)
        return account

    return make


def _collect(sandbox, *args: str) -> str:
    from platforms.ratelimit import DatabaseLimiter

    out = StringIO()
    call_command(
        "collect",
        *args,
        stdout=out,
        stderr=out,
        collector_kwargs={
            "transport": sandbox.transport(),
            "limiter": DatabaseLimiter(),
            "sleep": lambda seconds: None,
        },
    )
    return out.getvalue()


def test_collect_one_account_in_the_foreground(connected, sandbox):
    from platforms.models import CollectionRun, ContentItem

    account, other = connected("tiktok", 0), connected("tiktok", 1)
    out = _collect(sandbox, "--account", str(account.pk))
    run = CollectionRun.objects.get(account=account)
    assert (run.kind, run.status) == ("manual", "succeeded")
    assert f"{account}: succeeded" in out and "[" in out  # the bar
    assert ContentItem.objects.filter(account=account).count() == 30
    assert not CollectionRun.objects.filter(account=other).exists()


def test_collect_a_platform_or_all_with_backfill(connected, sandbox):
    from platforms.models import CollectionRun

    tiktok, youtube = connected("tiktok"), connected("youtube")
    gone = connected("tiktok", 1)
    ConnectedAccount.objects.filter(pk=gone.pk).update(status="reconnect_needed")
    _collect(sandbox, "--platform", "tiktok", "--backfill")
    assert list(CollectionRun.objects.values_list("account", "kind")) == [
        (tiktok.pk, "backfill")
    ]
    _collect(sandbox, "--all")
    kinds = sorted(CollectionRun.objects.values_list("account", "kind"))
    assert kinds == sorted(
        [(tiktok.pk, "backfill"), (tiktok.pk, "manual"), (youtube.pk, "manual")]
    )
    assert not CollectionRun.objects.filter(account=gone).exists()


def test_collect_refuses_an_unknown_account(db):
    with pytest.raises(CommandError, match="No account with id 999"):
        call_command("collect", "--account", "999", stdout=StringIO())


def test_a_throttled_collect_waits_in_the_foreground_and_says_so(
    connected, sandbox, time_machine, monkeypatch
):
    from platforms.management.commands.collect import Command
    from platforms.models import CollectionRun

    waited = []

    def wait(seconds: float) -> None:  # the clocks move instead of sleeping
        waited.append(seconds)
        time_machine.shift(seconds)
        sandbox.clock.advance(seconds)

    monkeypatch.setattr(Command, "sleep", staticmethod(wait))
    account = connected("tiktok")
    sandbox.faults.add(
        "burst_429",
        platform="tiktok",
        endpoint="tiktok.video.list",
        # More than the client's inline retries: the run is re-queued once.
        burst=6,
        count=1,
        retry_after=30,
    )
    out = _collect(sandbox, "--account", str(account.pk))
    run = CollectionRun.objects.get(account=account)
    assert run.status == "succeeded" and run.throttles >= 1
    assert "throttled; resumes in" in out
    assert waited and all(seconds >= 25 for seconds in waited)


def test_collect_no_wait_leaves_a_throttled_run_queued_and_says_when(
    connected, sandbox
):
    from platforms.models import CollectionRun

    account = connected("tiktok")
    sandbox.faults.add(
        "burst_429", platform="tiktok", endpoint="tiktok.video.list", burst=50
    )
    out = _collect(sandbox, "--account", str(account.pk), "--no-wait")
    assert CollectionRun.objects.get(account=account).status == "queued"
    assert "Left queued: a running qcluster continues it after" in out
