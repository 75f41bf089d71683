"""The collector contract and the bookkeeping every platform shares."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
from django.db import transaction

from platforms.exceptions import (
    PlatformAuthError,
    PlatformError,
    PlatformQuotaError,
    PlatformRateLimitError,
)
from platforms.models import ContentItem
from platforms.registry import get_client_class
from platforms.services import storage
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


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    next_collection_at: dt.datetime | None = None


class BaseCollector:
    """Collect one account: list items page by page, store values as they come.

    Subclasses implement `collect_account_level`, `item_pages` and
    `collect_items`; the base writes through the storage services so every
    run is idempotent, and keeps memory flat: one page at a time.
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

    def close(self) -> None:
        """Release the client's connections (the run is over)."""
        if self._owns_client:
            self.client.close()

    # --- the contract -----------------------------------------------------

    def collect(self, *, backfill: bool) -> Outcome:
        raise NotImplementedError

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

    def mark_vanished(self, seen: set[str]) -> None:
        """After a full listing: items the platform no longer lists."""
        known = set(
            ContentItem.objects.filter(
                account=self.account, availability=ContentItem.Availability.AVAILABLE
            ).values_list("platform_item_id", flat=True)
        )
        self.mark_missing(known - seen, ContentItem.Availability.UNAVAILABLE)

    def item_failed(self, what: str, error: PlatformError) -> None:
        """One item's failure: recorded (the client wrote the error-log row)."""
        if isinstance(error, RUN_ENDING):
            raise error
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


class CursorGuard:
    """Stops paging on a repeated cursor, an empty page with more promised,
    or more pages than any real account has."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.seen: set[Any] = set()
        self.pages = 0

    def next(self, cursor: Any, *, page_size: int, has_more: bool) -> bool:
        self.pages += 1
        if not has_more or cursor in (None, ""):
            return False
        if cursor in self.seen:
            logger.warning("%s repeated cursor %r; stopping", self.endpoint, cursor)
            return False
        if page_size == 0 and self.pages > 1:
            logger.warning(
                "%s returned an empty page with more promised", self.endpoint
            )
            return False
        if self.pages >= MAX_PAGES:
            logger.warning("%s paged %s times; stopping", self.endpoint, self.pages)
            return False
        self.seen.add(cursor)
        return True
