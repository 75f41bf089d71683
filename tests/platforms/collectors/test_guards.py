"""A listing cut short by a paging guard never marks real items as gone.

The sandbox pages correctly unless told otherwise, so its paging faults
make the listing go wrong (`repeat_cursor`: a page hands back the cursor it
was given; `empty_page`: a page comes back empty while promising more), and
the page cap is lowered for its test. Each time the run ends partial with an
error-log row saying why, and every item it did not reach stays available.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from platforms.collectors import base
from platforms.models import ConnectedAccount, ContentItem, ErrorLog, MetricSnapshot
from platforms.sandbox import Sandbox
from platforms.services import collection
from platforms.tokens import save_token_reply
from tests.platforms.collectors.conftest import FROZEN_AT

WORLD = {
    "accounts": {"tiktok": 1, "youtube": 1, "instagram": 1},
    "items_per_account": 120,
    "history_days": 60,
}

# Each platform's listing endpoint, as the sandbox and its fault rules name it.
LISTINGS = {
    "tiktok": "tiktok.video.list",
    "youtube": "youtube.playlistItems",
    "instagram": "graph.ig_media",
}


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(seed=5, config={"clock": {"frozen_at": FROZEN_AT}, "world": WORLD})


def _connect(sb: Sandbox, creator, platform: str) -> ConnectedAccount:
    world_account = sb.world.accounts(platform)[0]
    reply = sb.issue_tokens(platform, world_account.id)
    account = ConnectedAccount.objects.create(
        owner=creator,
        platform=platform,
        platform_user_id=reply.get("open_id") or world_account.external_id,
        handle=world_account.handle,
    )
    save_token_reply(account, reply)
    return account


def _run(account, kind, transport, limiter):
    run = collection.run_create(account=account, kind=kind)
    return collection.run_execute(run_id=run.pk, transport=transport, limiter=limiter)


def _available(account) -> int:
    return ContentItem.objects.filter(account=account, availability="available").count()


@pytest.mark.parametrize("platform", ["tiktok", "youtube", "instagram"])
@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("repeat_cursor", "repeated cursor"),
        ("empty_page", "empty page"),
        (None, "paged 2 times"),
    ],
)
def test_a_cut_listing_marks_nothing_gone_and_says_why(
    platform, fault, says, creator, sandbox, limiter, time_machine, monkeypatch
):
    account = _connect(sandbox, creator, platform)
    full = _run(account, "backfill", sandbox.transport(), limiter)
    assert full.status in ("succeeded", "partial"), full.error_summary
    before = _available(account)
    assert before >= 100, (full.error_summary, full.counts)

    time_machine.shift(3600)
    sandbox.clock.advance(3600)
    endpoint = LISTINGS[platform]
    if fault is None:
        monkeypatch.setattr(base, "MAX_PAGES", 2)
    else:
        # Every page after the first goes wrong.
        rule = sandbox.faults.add(fault, platform=platform, endpoint=endpoint)
    listed_before = sandbox.requests.count(endpoint=endpoint)
    started = timezone.now()
    # A run that walks the whole listing (scheduled runs list only the
    # fresh head between two full listings).
    cut = _run(account, "backfill", sandbox.transport(), limiter)

    # The run stopped after the second page: the first bad one, or the cap.
    assert sandbox.requests.count(endpoint=endpoint) - listed_before == 2
    if fault is not None:
        logged = sandbox.requests.recent(endpoint=endpoint, limit=2)
        assert rule.fired == 1 and [r["fault"] for r in logged] == [None, fault]
    assert cut.status == "partial" and "listing cut short" in cut.error_summary
    assert says in cut.error_summary
    # Items the cut listing did not reach are still content.
    unreached = ContentItem.objects.filter(account=account, last_seen_at__lt=started)
    assert unreached.exists()
    assert _available(account) == before
    row = ErrorLog.objects.get(
        account=account, error_class="data", message__contains="stopped early"
    )
    assert says in row.message
    if platform == "tiktok":
        total = MetricSnapshot.objects.get(
            account=account, item=None, metric="view_count", fetched_at__gte=started
        )
        assert total.value is None and "stopped early" in total.missing_reason
