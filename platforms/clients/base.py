"""`BasePlatformClient`: the small contract every platform client fulfils.

One implementation, two faces. The core is synchronous over one pooled
`httpx.Client` per platform client, because everything around a request is
synchronous Django: the shared limiter and the quota ledger are conditional
UPDATEs, token refresh takes a row lock, every call writes an ApiCallLog
row, and django-q2 workers are threads and processes, not an event loop.
Where the integration guide awaits a call (`collect_metrics`,
`get_analytics`, `refresh_auth_token`, `refresh_credentials`) the method is
an `async def` that runs the same synchronous code in a worker thread with
`asyncio.to_thread`; concurrent tasks therefore run concurrently, each on
its own thread and database connection.

The synchronous methods touch the database (limiter, quota ledger, API call
log), which Django refuses on a thread that runs an event loop
(SynchronousOnlyOperation). A script that awaits `collect_metrics` in
`async def main()` naturally calls `get_video_metrics()` there too, so every
public synchronous method is wrapped (`sync_api`, applied to each subclass
by `__init_subclass__`): on a thread with a running loop its body runs on a
worker thread and the caller blocks for the result, as a synchronous call
does; anywhere else it runs in place. It is the same body either way.

The pieces: `TokenHolder` (platforms/clients/credentials.py) loads and
refreshes tokens; `RequestPipeline` (platforms/clients/pipeline.py) sends.
Every request goes: rate limit (shared buckets) → quota charge (YouTube) →
send → log (logger `platforms.<platform>` at DEBUG + ApiCallLog) →
`validate_response` (raises the platform's error) → retries for transient
failures (`platforms.http.request_with_retries`) → one token refresh and a
new try on a rejected token → ErrorLog row for a failure that is final.
"""

from __future__ import annotations

import abc
import asyncio
import contextvars
import functools
import hashlib
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
from django.db import connections

from platforms.clients.credentials import TokenHolder
from platforms.clients.pipeline import RequestPipeline
from platforms.exceptions import (
    PlatformAuthError,
    PlatformError,
)
from platforms.http import (
    RetryPolicy,
    build_client,
)
from platforms.ratelimit import (
    ENDPOINT_CLASSES,
    BucketSpec,
    Limiter,
    Rate,
    bucket_key,
    configured_rates,
    get_limiter,
)
from platforms.tokens import REFRESH_LEEWAY_SECONDS

if TYPE_CHECKING:
    from platforms.models import ConnectedAccount

T = TypeVar("T")


def _closing_connections(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call `func` on a worker thread, then close that thread's DB handles."""
    try:
        return func(*args, **kwargs)
    finally:
        # Worker threads are pooled or short-lived; an idle connection per
        # thread would outlive the request it was opened for.
        connections.close_all()


async def run_in_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run sync client code in a worker thread; close that thread's DB handles."""
    return await asyncio.to_thread(_closing_connections, func, *args, **kwargs)


def in_event_loop_thread() -> bool:
    """True where Django would refuse ORM use: a running loop on this thread.

    `DJANGO_ALLOW_ASYNC_UNSAFE` lifts Django's check, and this one with it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return not os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")


def call_off_loop(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `func` on a fresh worker thread and block until it returns.

    The caller's thread (and its event loop) waits, exactly as for any
    synchronous call; exceptions are re-raised here with their traceback.
    """
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["value"] = context.run(_closing_connections, func, *args, **kwargs)
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="platforms-sync-call")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def sync_api(func: Callable[..., T]) -> Callable[..., T]:
    """Make a synchronous client method safe to call from a coroutine.

    Outside an event loop thread the method runs in place; inside one, its
    body (database access included) runs on a worker thread and the result
    is returned synchronously. Calls it makes in turn run in place there.
    """
    if getattr(func, "__sync_api__", False):
        return func

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if in_event_loop_thread():
            return call_off_loop(func, *args, **kwargs)
        return func(*args, **kwargs)

    wrapper.__sync_api__ = True  # type: ignore[attr-defined]
    return wrapper


def _wrap_public_sync_methods(cls: type) -> None:
    """Apply `sync_api` to every public sync method and property cls has."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if inspect.isfunction(attr):
            if inspect.iscoroutinefunction(attr) or getattr(
                attr, "__isabstractmethod__", False
            ):
                continue
            if not getattr(attr, "__sync_api__", False):
                setattr(cls, name, sync_api(attr))
        elif (
            isinstance(attr, property)
            and attr.fget is not None
            and not getattr(attr.fget, "__sync_api__", False)
        ):
            setattr(cls, name, attr.getter(sync_api(attr.fget)))


def default_redirect_uri(provider: str) -> str:
    """The product's own OAuth callback for `provider` (tiktok/google/facebook).

    The URI registered with each platform app (README, "Registering the
    platform apps"), so a client built without `redirect_uri` exchanges
    codes the product's connect flow obtained.
    """
    from django.conf import settings

    return f"{settings.SITE_URL}/accounts/{provider}/login/callback/"


class BasePlatformClient(TokenHolder, RequestPipeline, abc.ABC):
    """Abstract platform client: authenticate, limit, send, validate, transform.

    Subclasses set `platform`, implement the abstract methods and their
    endpoint methods, and override hooks only where the platform differs
    (`charge_quota`, `observe_response`, `auth_headers`).
    """

    platform: ClassVar[str] = ""
    #: Pause after repeated throttling when the platform gives no Retry-After
    #: (TikTok's documented window is one minute).
    throttle_pause_seconds: ClassVar[float] = 60.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Every platform, a fourth one too, gets the same coroutine safety.
        _wrap_public_sync_methods(cls)

    def __init__(
        self,
        *,
        access_token: str | None = None,
        refresh_token: str | None = None,
        account: ConnectedAccount | None = None,
        transport: httpx.BaseTransport | None = None,
        limiter: Limiter | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = build_client(transport=transport, timeout=timeout)
        self.account = account
        self._access_token = access_token
        self._refresh_token = refresh_token
        self._access_expires_at: datetime | None = None
        self._credential_loaded = account is None or access_token is not None
        self._refresh_lock = threading.Lock()
        self._limiter = limiter
        self.retry_policy = retry_policy or RetryPolicy()
        self.sleep = sleep
        self._client_rates: dict[str, Rate] = {}
        self.logger = logging.getLogger(f"platforms.{self.platform}")
        #: Requests sent by this client instance (each try counts).
        self.request_count = 0

    # --- the contract -------------------------------------------------------

    @property
    @abc.abstractmethod
    def app_id(self) -> str:
        """The public id of the platform app (client key / client id)."""

    @abc.abstractmethod
    def fetch_metrics(self, **kwargs: Any) -> dict[str, Any]:
        """Synchronous body of `collect_metrics`."""

    @abc.abstractmethod
    def validate_response(self, response: httpx.Response, *, endpoint: str) -> Any:
        """Check the reply (status, envelope, JSON) and return its payload.

        Raises the platform's `PlatformError` subclass for error replies,
        including errors reported inside HTTP 200 bodies.
        """

    @abc.abstractmethod
    def transform_metrics(
        self, raw: Mapping[str, Any], *, requested: list[str] | None = None
    ) -> dict[str, Any]:
        """Turn one parsed platform item into the standard metrics result."""

    @abc.abstractmethod
    def request_token_refresh(self, refresh_token: str) -> Mapping[str, Any]:
        """Ask the platform for a new access token; return its token reply."""

    async def collect_metrics(self, **kwargs: Any) -> dict[str, Any]:
        """Collect metrics in the standard format `{"video_id": …, "metrics": …}`."""
        return await run_in_thread(self.fetch_metrics, **kwargs)

    def authenticate(self) -> str:
        """Return a usable access token, refreshing it shortly before it expires."""
        self._load_credential()
        self._check_account_usable()
        if not self._access_token:
            raise self.error(
                PlatformAuthError, "no access token: connect the account first"
            )
        expires = self._access_expires_at
        soon = datetime.now(UTC) + timedelta(seconds=REFRESH_LEEWAY_SECONDS)
        if expires is not None and expires <= soon and self.can_refresh():
            self.refresh_now()
        return self._access_token  # type: ignore[return-value]

    def handle_rate_limits(self, endpoint: str) -> None:
        """Take a slot from every shared bucket for `endpoint` (may wait or raise)."""
        self.limiter.acquire(self.bucket_specs(endpoint), platform=self.platform)

    # --- configuration ------------------------------------------------------

    def configure_rate_limits(
        self,
        *,
        max_requests_per_second: int | None = None,
        max_requests_per_minute: int | None = None,
        max_requests_per_hour: int | None = None,
        max_requests_per_day: int | None = None,
    ) -> None:
        """Cap this app's requests to the platform overall, in several windows.

        These windows apply to every endpoint, on top of the per-endpoint
        defaults (`platforms.ratelimit.DEFAULT_RATES`), and are shared with
        every worker using the same app id.
        """
        for unit, count in (
            ("s", max_requests_per_second),
            ("m", max_requests_per_minute),
            ("h", max_requests_per_hour),
            ("d", max_requests_per_day),
        ):
            if count is not None:
                self._client_rates[f"all_{unit}"] = Rate.parse(f"{count}/{unit}")

    @property
    def limiter(self) -> Limiter:
        if self._limiter is None:
            self._limiter = get_limiter(
                sleep=self.sleep, max_inline_wait=self.retry_policy.max_inline_wait
            )
        return self._limiter

    def bucket_specs(self, endpoint: str) -> list[BucketSpec]:
        """Every bucket a request to `endpoint` takes a slot from."""
        rates = configured_rates(self.platform)
        account_key = self.account_key()
        account_id = self.account.pk if self.account is not None else None
        specs = []
        windows = [(name, False, rate) for name, rate in self._client_rates.items()]
        for name, per_account in ENDPOINT_CLASSES.get(endpoint, ()):
            if name in rates:
                windows.append((name, per_account, rates[name]))
        for name, per_account, rate in windows:
            if per_account and account_key is None:
                continue
            owner = account_key if per_account else None
            specs.append(
                BucketSpec(
                    key=bucket_key(self.platform, self.app_id, name, owner, rate),
                    platform=self.platform,
                    endpoint_class=name,
                    rate=rate,
                    account_id=account_id if per_account else None,
                )
            )
        return specs

    def account_key(self) -> str | None:
        """Who per-user limits are counted for: the account, else the token."""
        if self.account is not None:
            return f"acct{self.account.pk}"
        if self._access_token:
            digest = hashlib.sha256(self._access_token.encode()).hexdigest()[:16]
            return f"tok{digest}"
        return None

    # --- hooks ----------------------------------------------------------------

    #: The quota project a call is charged to, recorded in the call log.
    quota_project: str = ""

    def charge_quota(self, endpoint: str, cost: int) -> None:
        """Spend quota units before a request (only YouTube has a unit quota)."""
        return None

    def observe_response(self, endpoint: str, response: httpx.Response) -> None:
        """Read usage headers a platform sends with every reply."""
        return None

    def on_error(self, error: PlatformError) -> None:
        """React to a classified error before it is raised (e.g. mark quota)."""
        return None

    # --- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BasePlatformClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
