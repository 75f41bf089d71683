"""Token refresh across worker processes: one refresh request, short locks.

The refresh is a short lease on the Credential (`platforms.tokens`), not a
row lock held through the HTTP call, so other writers are never blocked
for the length of a refresh with its retries.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from platforms import tokens
from platforms.exceptions import PlatformAuthError, PlatformRateLimitError
from platforms.models import ConnectedAccount, Credential
from tests.platforms.shared_database import run_workers, shared_database_env

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def served_sandbox(tmp_path):
    """The sandbox as its own process on a free loopback port."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings")
    output = tmp_path / "sandbox.log"
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "sandbox", "--port", "0"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"serving on (http://\S+)", output.read_text())):
            assert proc.poll() is None, output.read_text()
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        yield found.group(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_worker_processes_refresh_a_stored_tiktok_account_once(
    tmp_path, served_sandbox
):
    env = shared_database_env(tmp_path / "db")
    env.update(SANDBOX="1", SANDBOX_URL=served_sandbox)
    [stored] = run_workers(
        "store_tiktok_account",
        [{"sandbox_url": served_sandbox, "username": "workers"}],
        env,
    )
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    peers = 4
    results = run_workers(
        "refresh_stored_account",
        [
            {
                "account": stored["account"],
                "barrier": str(barrier),
                "peers": peers,
                "name": f"w{n}",
            }
            for n in range(peers)
        ],
        env,
    )
    with httpx.Client(base_url=served_sandbox, timeout=10) as sandbox:
        log = sandbox.get(
            "/_sandbox/requests", params={"endpoint": "tiktok.oauth.token"}
        ).json()
    assert log["total"] == 1, "exactly one refresh request reached TikTok"
    rotated = results[0]["stored"]
    assert rotated != stored["access"]
    assert results[0]["stored_refresh"] != stored["refresh"]  # TikTok rotated it
    for result in results:
        assert result["used"] == rotated, "every worker ends with the new token"
        assert result["followers"] is not None
        assert not result["lease_left"]


# --- the lease, in one process -------------------------------------------------


@pytest.fixture
def stored(creator):
    account = ConnectedAccount.objects.create(
        owner=creator, platform="tiktok", platform_user_id="open-lease"
    )
    tokens.save_token_reply(
        account,
        {"access_token": "act.old", "refresh_token": "rft.old", "expires_in": 60},
    )
    return account


def test_a_worker_waits_for_the_lease_holder_and_uses_its_token(stored):
    credential = Credential.objects.get(account=stored)
    holder = tokens._claim_lease(credential)
    assert holder is not None
    assert tokens._claim_lease(credential) is None  # one holder at a time

    calls = []

    def finish_while_waiting(seconds: float) -> None:
        # The holder saves its refresh while this worker waits.
        tokens._save_refreshed(
            Credential.objects.get(account=stored),
            {
                "access_token": "act.new",
                "refresh_token": "rft.new",
                "expires_in": 86400,
            },
            holder,
        )

    got = tokens.refresh_with_lock(
        stored,
        stale_access_token="act.old",
        refresh=lambda cred: calls.append(cred) or {},
        sleep=finish_while_waiting,
    )
    assert calls == [], "the waiting worker did not refresh again"
    assert got.access_token == "act.new" and got.refresh_token == "rft.new"
    assert not got.refresh_lease and got.refreshing_until is None


def test_no_transaction_is_open_during_the_refresh_call(stored):
    from django.db import connection

    seen = []

    def refresh(credential):
        seen.append(len(connection.savepoint_ids))
        return {"access_token": "act.2", "expires_in": 3600}

    # pytest-django wraps each test in a transaction; refresh_with_lock must
    # not open one of its own (a savepoint here) around the HTTP call.
    depth = len(connection.savepoint_ids)
    got = tokens.refresh_with_lock(
        stored, stale_access_token="act.old", refresh=refresh
    )
    assert seen == [depth]
    assert got.access_token == "act.2"


def test_an_abandoned_lease_expires_and_can_be_claimed(stored, time_machine):
    credential = Credential.objects.get(account=stored)
    assert tokens._claim_lease(credential) is not None
    later = dt.timedelta(seconds=tokens.REFRESH_LEASE_SECONDS + 1)
    time_machine.move_to(dt.datetime.now(dt.UTC) + later)
    got = tokens.refresh_with_lock(
        stored,
        stale_access_token="act.old",
        refresh=lambda cred: {"access_token": "act.3", "expires_in": 3600},
    )
    assert got.access_token == "act.3"


def test_a_lease_held_too_long_re_queues_rather_than_asking_for_a_reconnect(stored):
    credential = Credential.objects.get(account=stored)
    assert tokens._claim_lease(credential) is not None
    with pytest.raises(PlatformRateLimitError) as raised:
        tokens.refresh_with_lock(
            stored,
            stale_access_token="act.old",
            refresh=lambda cred: pytest.fail("must not refresh under a live lease"),
            wait_seconds=0,
            sleep=lambda s: None,
        )
    assert raised.value.retry_after
    stored.refresh_from_db()
    assert stored.status == ConnectedAccount.Status.ACTIVE


def test_a_refused_refresh_releases_the_lease_and_asks_for_a_reconnect(stored):
    def refuse(credential):
        raise PlatformAuthError("invalid_grant", code="invalid_grant", permanent=True)

    with pytest.raises(PlatformAuthError):
        tokens.refresh_with_lock(stored, stale_access_token="act.old", refresh=refuse)
    credential = Credential.objects.get(account=stored)
    assert not credential.refresh_lease
    stored.refresh_from_db()
    assert stored.status == ConnectedAccount.Status.RECONNECT_NEEDED
