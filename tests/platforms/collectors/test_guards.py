"""A listing cut short by a paging guard never marks real items as gone.

The sandbox pages correctly, so the faults are made on the wire: a
transport between the client and the sandbox rewrites the listing replies
(a cursor that repeats, pages that come back empty while promising more),
and the page cap is lowered for its test. Each time the run ends partial
with an error-log row saying why, and every item it did not reach stays
available.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
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

Rewrite = Callable[[dict, int], dict]


class RewriteListing(httpx.BaseTransport):
    """The sandbox, with `rewrite(body, page number)` applied to one listing."""

    def __init__(self, inner: httpx.BaseTransport, path: str, rewrite: Rewrite):
        self.inner, self.path, self.rewrite = inner, path, rewrite
        self.pages = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Always a full reply to rewrite, never a 304 for the client's cache.
        request.headers.pop("If-None-Match", None)
        response = self.inner.handle_request(request)
        if self.path not in request.url.path or response.status_code != 200:
            return response
        response.read()
        self.pages += 1
        body = self.rewrite(json.loads(response.content), self.pages)
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in {"content-length", "content-encoding", "etag"}
        }
        return httpx.Response(200, headers=headers, json=body)


# Where each platform keeps a listing's items and its next cursor.
LISTINGS = {
    "tiktok": ("/v2/video/list/", ("data", "videos"), ("data", "cursor")),
    "youtube": ("/playlistItems", ("items",), ("nextPageToken",)),
    "instagram": ("/media", ("data",), ("paging", "cursors", "after")),
}


def _get(body: dict, path: tuple[str, ...]):
    for key in path:
        body = body[key]
    return body


def _set(body: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        body = body[key]
    body[path[-1]] = value


def repeat_first_cursor(platform: str) -> Rewrite:
    """Every page answers with the first page's cursor."""
    _, _, cursor_at = LISTINGS[platform]
    first: list = []

    def rewrite(body: dict, page: int) -> dict:
        if page == 1:
            first.append(_get(body, cursor_at))
        else:
            _set(body, cursor_at, first[0])
        return body

    return rewrite


def empty_after_first(platform: str) -> Rewrite:
    """Pages after the first are empty but still promise more."""
    _, items_at, _ = LISTINGS[platform]

    def rewrite(body: dict, page: int) -> dict:
        if page > 1:
            _set(body, items_at, [])
        return body

    return rewrite


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
        (repeat_first_cursor, "repeated cursor"),
        (empty_after_first, "empty page"),
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
    path = LISTINGS[platform][0]
    if fault is None:
        monkeypatch.setattr(base, "MAX_PAGES", 2)
        transport = RewriteListing(sandbox.transport(), path, lambda b, _n: b)
    else:
        transport = RewriteListing(sandbox.transport(), path, fault(platform))
    started = timezone.now()
    # A run that walks the whole listing (scheduled runs list only the
    # fresh head between two full listings).
    cut = _run(account, "backfill", transport, limiter)

    assert transport.pages >= 1
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
