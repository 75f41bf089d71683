"""The collector contract and the bookkeeping every platform shares.

A run may stop part-way (throttled, worker died) and be continued by a
later attempt, so a collector works in named *phases* and keeps a
checkpoint on the run (`Progress.checkpoint`): the phases done, the
listing's cursor, running totals. An attempt skips what an earlier one
finished and continues the listing from its cursor; everything it stores
is an upsert, so repeating a page changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery, Sum

from platforms import planner
from platforms.exceptions import (
    PlatformAuthError,
    PlatformError,
    PlatformQuotaError,
    PlatformRateLimitError,
)
from platforms.models import ContentItem, ErrorLog, MetricSnapshot
from platforms.registry import get_client_class
from platforms.services import storage
from platforms.services.errors import error_note, error_record
from platforms.services.storage import DistributionData, ItemData, MetricValue

if TYPE_CHECKING:
    from platforms.clients.base import BasePlatformClient
    from platforms.models import ConnectedAccount
    from platforms.services.collection import Progress

logger = logging.getLogger("platforms.collection")
T = TypeVar("T")

#: Errors that end the whole run, not just one item: the account's token,
#: its quota or the platform's patience is gone.
RUN_ENDING = (PlatformAuthError, PlatformQuotaError, PlatformRateLimitError)

#: Guard against a platform that pages forever (repeated or looping cursors).
MAX_PAGES = 10_000


@dataclass(frozen=True)
class ViewsTotal:
    total: int
    with_views: int
    items: int
    stale: int


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    next_collection_at: dt.datetime | None = None


class BaseCollector:
    """Collect one account: list items page by page, store values as they come.

    Subclasses implement `collect`; the base writes through the storage
    services so every run is idempotent, and keeps memory flat: one page at
    a time.
    """

    platform: ClassVar[str] = ""

    def __init__(
        self,
        *,
        account: ConnectedAccount,
        progress: Progress,
        fetched_at: dt.datetime,
        client: BasePlatformClient | None = None,
        transport: httpx.BaseTransport | None = None,
        **client_kwargs: Any,
    ) -> None:
        self.account = account
        self.progress = progress
        self.fetched_at = fetched_at
        #: A client made here is closed with the collector (`close`).
        self._owns_client = client is None
        self.client = client or get_client_class(account.platform)(
            account=account, transport=transport, **client_kwargs
        )
        self.outcome = Outcome()
        checkpoint = self.progress.checkpoint
        #: When this run's listing began (the first attempt's fetch time):
        #: an item not seen since then is no longer listed.
        self.listing_since = dt.datetime.fromisoformat(
            checkpoint.setdefault("since", fetched_at.isoformat())
        )

    def close(self) -> None:
        """Release the client's connections (the run is over)."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> BaseCollector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the contract -----------------------------------------------------

    def collect(self, *, backfill: bool) -> Outcome:
        raise NotImplementedError

    def run(self, *, backfill: bool) -> Outcome:
        """The whole run: `collect`, then the account's item totals.

        The totals come last, so they sum what this run and any earlier
        attempt of it read; a later attempt skips them once stored.
        """
        outcome = self.collect(backfill=backfill)
        self.run_phase("item_totals", self.store_item_totals)
        return outcome

    # --- phases and the checkpoint -----------------------------------------

    def phase_done(self, name: str) -> bool:
        return name in self.progress.checkpoint.get("done", [])

    def finish_phase(self, name: str, **state: Any) -> None:
        done = [*self.progress.checkpoint.get("done", []), name]
        self.progress.save_checkpoint(done=done, **state)

    def run_phase(self, name: str, work: Callable[[], Any]) -> None:
        """Run `work` unless an earlier attempt of this run finished it."""
        if self.phase_done(name):
            return
        work()
        self.finish_phase(name)

    # --- resumable listings -------------------------------------------------

    def listing_left(self, endpoint: str) -> tuple[CursorGuard, Any] | None:
        """Where the item listing goes on: (guard, cursor), or None if done.

        The cursor is the one to ask next (None: the first page). Once the
        last page is stored the checkpoint has pages but no cursor.
        """
        checkpoint = self.progress.checkpoint
        if checkpoint.get("listed"):
            return None
        if checkpoint.get("pages") and checkpoint.get("cursor") is None:
            self.progress.save_checkpoint(listed=True)
            return None
        guard = CursorGuard(endpoint, pages=checkpoint.get("pages", 0))
        return guard, checkpoint.get("cursor")

    def listing_moved(self, cursor: Any, guard: CursorGuard, **state: Any) -> None:
        """A page is stored: continue from `cursor` (None: it was the last)."""
        self.progress.save_checkpoint(
            cursor=cursor, pages=guard.pages, cut=guard.cut, **state
        )

    def listing_done(self, guard: CursorGuard) -> None:
        """The listing ended (on its last page, or cut short by the guard).

        A listing that ended as the platform said (or at the fresh head)
        read all this run will list: its total becomes what it read, so a
        finished run does not show the platform's item count, which can
        differ from what the listing returns, as work left undone. A cut
        listing keeps the platform's count: it did stop short of it.
        """
        if guard.cut is None:
            self.progress.run.progress_total = self.progress.run.progress_done
        self.progress.save_checkpoint(listed=True, pages=guard.pages, cut=guard.cut)

    def expect_items(self, total: int) -> None:
        """The platform's item count as the progress total, when it is the plan.

        A head-only scheduled run lists only the fresh items, not all of
        them: its total stays unknown until its listing ends.
        """
        if self.progress.checkpoint.get("full", True):
            self.progress.set_total(total)

    # --- shared helpers ---------------------------------------------------

    def _fenced(self, write: Callable[..., T], **kwargs: Any) -> T:
        """Run a storage write only while this worker still holds the run.

        The fence check (a conditional UPDATE of the run's heartbeat) and the
        write share one transaction: a reaped worker writes nothing more.
        """
        with transaction.atomic():
            self.progress.fence()
            return write(account=self.account, **kwargs)

    def store_items(self, items: Iterable[ItemData]) -> dict[str, int]:
        ids = self._fenced(storage.items_upsert, items=items, seen_at=self.fetched_at)
        self.progress.count(items=len(ids))
        return ids

    def store_snapshots(self, values: Iterable[MetricValue]) -> None:
        written = self._fenced(
            storage.snapshots_upsert, values=values, fetched_at=self.fetched_at
        )
        self.progress.count(values=written)

    def store_daily(self, values: Iterable[MetricValue]) -> None:
        written = self._fenced(
            storage.daily_values_upsert, values=values, fetched_at=self.fetched_at
        )
        self.progress.count(values=written)

    def store_item_totals(self) -> None:
        """Each counter summed over the items as this run leaves them.

        Items this run did not re-read (older ones, on their own cadence)
        count with their last reading, which makes the totals estimates.
        """
        written = self._fenced(
            storage.item_totals_upsert,
            fetched_at=self.fetched_at,
            fresh_since=self.listing_since,
        )
        self.progress.count(values=written)

    def store_distributions(self, distributions: Iterable[DistributionData]) -> None:
        written = self._fenced(
            storage.distributions_upsert,
            distributions=distributions,
            fetched_at=self.fetched_at,
        )
        self.progress.count(distributions=written)

    def mark_missing(self, platform_ids: Iterable[str], availability: str) -> None:
        ids = list(platform_ids)
        if ids:
            self._fenced(
                storage.items_mark_unavailable,
                platform_item_ids=ids,
                availability=availability,
                since=self.fetched_at,
            )
            self.progress.count(unavailable=len(ids))

    def mark_vanished(self, *, cut: str | None = None, keep_kinds=()) -> None:
        """After a full listing: items the platform no longer lists.

        An item listed by any attempt of this run was seen at or after
        `listing_since`. A listing cut short by a guard (`cut` says why)
        proves nothing about the items it did not reach: then nothing is
        marked, and an error-log row says so.
        """
        if not self.progress.checkpoint.get("full", True):
            return  # only the fresh head was listed: absence proves nothing
        if cut:
            self.outcome.failures.append(f"listing cut short: {cut}")
            self.progress.count(errors=1)
            error_note(
                account=self.account,
                error_class=ErrorLog.ErrorClass.DATA,
                message=(
                    f"The {self.platform} listing stopped early ({cut}); items "
                    "it did not reach were not marked unavailable."
                ),
                context={"run": self.progress.run.pk},
            )
            return
        gone = (
            ContentItem.objects.filter(
                account=self.account,
                availability=ContentItem.Availability.AVAILABLE,
                last_seen_at__lt=self.listing_since,
            )
            .exclude(kind__in=list(keep_kinds))
            .values_list("platform_item_id", flat=True)
        )
        self.mark_missing(gone.iterator(), ContentItem.Availability.UNAVAILABLE)

    def views_total(self) -> ViewsTotal:
        """The account's views: the sum of each item's latest views reading.

        Items re-read in this run count with today's number, the others
        (old items on a slower cadence) with their last one: `stale` says
        how many, and the total is then an estimate.
        """
        latest = MetricSnapshot.objects.filter(
            item=OuterRef("pk"), metric="view_count"
        ).order_by("-fetched_at")
        rows = (
            ContentItem.objects.filter(
                account=self.account, availability=ContentItem.Availability.AVAILABLE
            )
            .exclude(kind=ContentItem.Kind.STORY)
            .annotate(
                views=Subquery(latest.values("value_int")[:1]),
                read_at=Subquery(latest.values("fetched_at")[:1]),
            )
            .aggregate(
                total=Sum("views"),
                with_views=Count("pk", filter=Q(views__isnull=False)),
                items=Count("pk"),
                stale=Count("pk", filter=Q(read_at__lt=self.listing_since)),
            )
        )
        return ViewsTotal(
            total=rows["total"] or 0,
            with_views=rows["with_views"],
            items=rows["items"],
            stale=rows["stale"],
        )

    # --- per-item cadence (scheduled runs) ----------------------------------

    def full_listing(self, *, backfill: bool) -> bool:
        """Whether this run walks the whole listing (else only its fresh head).

        Backfills do; a scheduled run does once every
        `planner.FULL_LISTING_EVERY`, and otherwise lists only items younger
        than `planner.FRESH` and re-reads older ones as their age band says.
        """
        checkpoint = self.progress.checkpoint
        if "full" not in checkpoint:
            full = backfill or planner.full_listing_due(self.account, self.fetched_at)
            self.progress.save_checkpoint(full=full, backfill=backfill)
        return checkpoint["full"]

    def past_fresh_head(self, published: Iterable[dt.datetime | None]) -> bool:
        """In a head-only run: this page reached items older than FRESH."""
        if self.progress.checkpoint.get("full", True):
            return False
        horizon = self.fetched_at - planner.FRESH
        return any(p is not None and p < horizon for p in published)

    def stretch(self) -> float:
        return planner.stretch_factors(self.fetched_at).get(self.platform, 1.0)

    def reread_old_items(
        self, reread: Callable[[dict[str, int]], None], *, batch: int
    ) -> None:
        """Re-read counters of older items that are due, `batch` at a time.

        An item re-read in this run is no longer due, so a resumed run
        simply asks for what is still due.
        """
        if self.progress.checkpoint.get("backfill"):
            return
        factor = self.stretch()
        while True:
            due = dict(
                (platform_id, pk)
                for pk, platform_id in planner.items_due(
                    self.account, self.fetched_at, factor=factor
                )[:batch]
            )
            if not due:
                return
            # Re-read items are work of this run too: planned, then done.
            self.progress.add_total(len(due))
            reread(due)
            self.progress.advance(len(due), reread=len(due))

    def item_failed(
        self, what: str, error: PlatformError, *, item: ContentItem | None = None
    ) -> None:
        """One item's failure: an error-log row (unless the client wrote it)."""
        if isinstance(error, RUN_ENDING):
            raise error
        error_record(error, account=self.account, item=item, what=what)
        self.outcome.failures.append(f"{what}: {error}")
        self.progress.count(errors=1)

    def known_items(self, *, published_after: dt.datetime | None = None):
        rows = ContentItem.objects.filter(
            account=self.account, availability=ContentItem.Availability.AVAILABLE
        )
        if published_after is not None:
            rows = rows.filter(published_at__gte=published_after)
        return rows.order_by("-published_at").values_list(
            "pk", "platform_item_id", "published_at"
        )


class RecentIds:
    """Ids of the last few pages, to drop an item a listing repeats.

    A platform repeats items at page boundaries when new posts shift the
    pages while we read them. Remembering only the last pages keeps memory
    flat however long the listing is; a repeat further back would only be
    stored twice, which the upserts make harmless.
    """

    def __init__(self, pages: int = 3) -> None:
        self.pages: list[set[str]] = []
        self.keep = pages

    def new(self, ids: Iterable[str]) -> list[str]:
        """The ids not seen on the last pages, in order; remembers them."""
        seen = set().union(*self.pages)
        fresh = [i for i in dict.fromkeys(ids) if i not in seen]
        self.pages = [*self.pages[-(self.keep - 1) :], set(fresh)]
        return fresh


class CursorGuard:
    """Stops paging on a repeated cursor, an empty page with more promised,
    or more pages than any real account has; `cut` then says which.

    `pages` and the cursors seen can start from a checkpoint, so a resumed
    listing keeps counting.
    """

    def __init__(
        self, endpoint: str, *, pages: int = 0, seen: Iterable[Any] = ()
    ) -> None:
        self.endpoint = endpoint
        self.seen: set[Any] = set(seen)
        self.pages = pages
        #: Why the listing stopped before the platform said it was done.
        self.cut: str | None = None

    def next(self, cursor: Any, *, page_size: int, has_more: bool) -> bool:
        self.pages += 1
        if not has_more:
            return False
        if cursor in (None, ""):
            return self._stop(f"{self.endpoint} promised more without a cursor")
        if cursor in self.seen:
            return self._stop(f"{self.endpoint} repeated cursor {cursor!r}")
        if page_size == 0 and self.pages > 1:
            return self._stop(f"{self.endpoint} returned an empty page")
        if self.pages >= MAX_PAGES:
            return self._stop(f"{self.endpoint} paged {self.pages} times")
        self.seen.add(cursor)
        return True

    def _stop(self, reason: str) -> bool:
        logger.warning("%s; stopping", reason)
        self.cut = reason
        return False
