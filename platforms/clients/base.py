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

Every request goes: rate limit (shared buckets) → quota charge (YouTube) →
send → log (logger `platforms.<platform>` at DEBUG + ApiCallLog) →
`validate_response` (raises the platform's error) → retries for transient
failures (`platforms.http.request_with_retries`) → one token refresh and a
new try on a rejected token → ErrorLog row for a failure that is final.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import httpx
from django.db import connections

from platforms.exceptions import (
    PlatformAPIError,
    PlatformAuthError,
    PlatformDataError,
    PlatformError,
    PlatformRateLimitError,
    error_class_for,
)
from platforms.http import (
    RetryPolicy,
    build_client,
    error_from_transport,
    request_with_retries,
)
from platforms.logging import redact, redact_data
from platforms.ratelimit import (
    ENDPOINT_CLASSES,
    BucketSpec,
    Limiter,
    Rate,
    bucket_key,
    configured_rates,
    get_limiter,
)
from platforms.tokens import REFRESH_LEEWAY_SECONDS, refresh_with_lock

if TYPE_CHECKING:
    from platforms.models import ConnectedAccount

T = TypeVar("T")

#: What `request` returns for a 304 reply to a conditional request.
NOT_MODIFIED = object()


async def run_in_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run sync client code in a worker thread; close that thread's DB handles."""

    def call() -> T:
        try:
            return func(*args, **kwargs)
        finally:
            # Worker threads are pooled; a long-lived idle connection per
            # thread would outlive the request it was opened for.
            connections.close_all()

    return await asyncio.to_thread(call)


class BasePlatformClient(abc.ABC):
    """Abstract platform client: authenticate, limit, send, validate, transform.

    Subclasses set `platform`, implement the abstract methods and their
    endpoint methods, and override hooks only where the platform differs
    (`charge_quota`, `observe_response`, `auth_headers`).
    """

    platform: ClassVar[str] = ""
    #: Pause after repeated throttling when the platform gives no Retry-After
    #: (TikTok's documented window is one minute).
    throttle_pause_seconds: ClassVar[float] = 60.0

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

    # --- tokens -------------------------------------------------------------

    def can_refresh(self) -> bool:
        self._load_credential()
        return bool(self.refresh_grant(self._access_token, self._refresh_token))

    def refresh_grant(self, access_token: str | None, refresh_token: str | None) -> str:
        """The token a refresh is made with (Graph renews with the access token)."""
        return refresh_token or ""

    def refresh_now(self) -> dict[str, Any]:
        """Refresh the access token (once across workers for a stored account)."""
        self._load_credential()
        stale = self._access_token
        if self.account is not None:
            credential = refresh_with_lock(
                self.account,
                stale_access_token=stale,
                refresh=lambda cred: self.request_token_refresh(
                    self.refresh_grant(cred.access_token, cred.refresh_token)
                ),
            )
            self._use_credential(credential)
        else:
            grant = self.refresh_grant(self._access_token, self._refresh_token)
            if not grant:
                raise self.error(PlatformAuthError, "no refresh token to refresh with")
            reply = self.request_token_refresh(grant)
            self._use_reply(reply)
        return {
            "access_token": self._access_token,
            "refresh_token": self._refresh_token,
            "access_expires_at": self._access_expires_at,
        }

    def _use_reply(self, reply: Mapping[str, Any]) -> None:
        from platforms.metrics import to_int

        self._access_token = str(reply["access_token"])
        if reply.get("refresh_token"):
            self._refresh_token = str(reply["refresh_token"])
        if reply.get("expires_in") not in (None, ""):
            seconds = to_int(reply["expires_in"], field="expires_in")
            self._access_expires_at = datetime.now(UTC) + timedelta(seconds=seconds)
        else:
            self._access_expires_at = None

    def _use_credential(self, credential: Any) -> None:
        self._access_token = credential.access_token or None
        self._refresh_token = credential.refresh_token or None
        self._access_expires_at = credential.access_expires_at

    def _load_credential(self) -> None:
        if self._credential_loaded:
            return
        from platforms.models import Credential

        credential = Credential.objects.filter(account=self.account).first()
        if credential is not None:
            self._use_credential(credential)
        self._credential_loaded = True

    def _check_account_usable(self) -> None:
        from platforms.models import ConnectedAccount

        if self.account is None:
            return
        if self.account.status == ConnectedAccount.Status.RECONNECT_NEEDED:
            raise self.error(
                PlatformAuthError,
                f"account needs reconnecting: {self.account.status_reason}",
                code="reconnect_needed",
            )

    def auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    # --- hooks ----------------------------------------------------------------

    def charge_quota(self, endpoint: str, cost: int) -> None:
        """Spend quota units before a request (only YouTube has a unit quota)."""
        return None

    def observe_response(self, endpoint: str, response: httpx.Response) -> None:
        """Read usage headers a platform sends with every reply."""
        return None

    def on_error(self, error: PlatformError) -> None:
        """React to a classified error before it is raised (e.g. mark quota)."""
        return None

    # --- the request pipeline ---------------------------------------------------

    def error(
        self, kind: type[PlatformError], message: str, **kwargs: Any
    ) -> PlatformError:
        """An instance of the platform's own subclass of `kind`."""
        return error_class_for(self.platform, kind)(message, **kwargs)

    def request(
        self,
        endpoint: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        quota_cost: int = 0,
        validate: Callable[[httpx.Response], Any] | None = None,
    ) -> Any:
        """Send one logical request with limits, quota, retries and one refresh."""
        attempt = functools.partial(
            self._send_once,
            endpoint,
            method,
            url,
            params=params,
            json_body=json_body,
            data=data,
            headers=headers,
            auth=auth,
            quota_cost=quota_cost,
            validate=validate,
        )
        refreshed = False
        while True:
            try:
                return request_with_retries(
                    attempt, policy=self.retry_policy, sleep=self.sleep
                )
            except PlatformAuthError as error:
                error.endpoint = error.endpoint or endpoint
                retry_with_new_token = (
                    auth
                    and not error.permanent
                    and not refreshed
                    and self.can_refresh()
                )
                if not retry_with_new_token:
                    self._record_error(error)
                    raise
                refreshed = True
                self.refresh_now()
            except PlatformError as error:
                error.endpoint = error.endpoint or endpoint
                if (
                    isinstance(error, PlatformRateLimitError)
                    and error.retry_after is None
                ):
                    # Still throttled after the inline retries and the platform
                    # did not say for how long: pause every worker for a window.
                    error.retry_after = self.throttle_pause_seconds
                    self.limiter.block(
                        self.bucket_specs(error.endpoint),
                        time.time() + error.retry_after,
                        f"platform throttled: {error.code or error.reason}",
                    )
                self._record_error(error)
                raise

    def _send_once(
        self,
        endpoint: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        auth: bool,
        quota_cost: int,
        validate: Callable[[httpx.Response], Any] | None,
    ) -> Any:
        all_headers = dict(headers or {})
        if auth:
            all_headers.update(self.auth_headers(self.authenticate()))
        self.handle_rate_limits(endpoint)
        self.charge_quota(endpoint, quota_cost)
        started = time.perf_counter()
        shown_url = redact(str(httpx.URL(url, params=params or {})))
        self.request_count += 1
        try:
            response = self.http.request(
                method,
                url,
                params=params,
                json=json_body,
                data=data,
                headers=all_headers,
            )
        except httpx.HTTPError as exc:
            error = error_from_transport(
                exc, error_class_for(self.platform, PlatformAPIError), endpoint=endpoint
            )
            self._log_call(
                endpoint, method, shown_url, None, started, quota_cost, error
            )
            raise error from None
        self.observe_response(endpoint, response)
        try:
            if response.status_code == 304:  # conditional request: reuse the cache
                result = NOT_MODIFIED
            elif validate is not None:
                result = validate(response, endpoint)
            else:
                result = self.validate_response(response, endpoint=endpoint)
        except PlatformError as error:
            error.endpoint = error.endpoint or endpoint
            error.status = (
                error.status if error.status is not None else (response.status_code)
            )
            self._log_call(
                endpoint,
                method,
                shown_url,
                response.status_code,
                started,
                quota_cost,
                error,
            )
            if isinstance(error, PlatformRateLimitError) and error.retry_after:
                # Every worker pauses, not only this one.
                self.limiter.block(
                    self.bucket_specs(endpoint),
                    time.time() + error.retry_after,
                    f"platform throttled: {error.code or error.reason}",
                )
            self.on_error(error)
            raise
        self._log_call(
            endpoint, method, shown_url, response.status_code, started, quota_cost, None
        )
        return result

    def parse_json(self, response: httpx.Response, *, endpoint: str) -> Any:
        """Decode a JSON body or raise PlatformDataError with context."""
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise self.error(
                PlatformDataError,
                f"{endpoint}: reply is not valid JSON ({exc.msg} at {exc.pos})"
                if isinstance(exc, json.JSONDecodeError)
                else f"{endpoint}: reply is not valid JSON",
                status=response.status_code,
                endpoint=endpoint,
                context={
                    # A body cut off in transit may come whole next time.
                    "transient": True,
                    "content_type": response.headers.get("content-type", ""),
                    "body_start": redact(response.text[:200]),
                },
            ) from None

    def data_error(self, endpoint: str, message: str, **context: Any) -> PlatformError:
        """A PlatformDataError for a reply with the wrong shape (not retried)."""
        return self.error(
            PlatformDataError,
            f"{endpoint}: {message}",
            endpoint=endpoint,
            permanent=True,
            context=redact_data(context),
        )

    # --- logging ----------------------------------------------------------------

    def _log_call(
        self,
        endpoint: str,
        method: str,
        shown_url: str,
        status: int | None,
        started: float,
        quota_cost: int,
        error: PlatformError | None,
    ) -> None:
        from platforms.models import ApiCallLog

        latency_ms = int((time.perf_counter() - started) * 1000)
        self.logger.debug(
            "%s %s -> %s in %d ms (quota %d)%s",
            method,
            shown_url,
            status if status is not None else "no reply",
            latency_ms,
            quota_cost,
            f" error={error.code or error.reason}" if error else "",
        )
        ApiCallLog.objects.create(
            platform=self.platform,
            endpoint=endpoint,
            method=method,
            status_code=status,
            error_code=str(error.code or error.reason or "")[:64] if error else "",
            latency_ms=latency_ms,
            quota_cost=quota_cost,
            account=self.account,
        )

    def _record_error(self, error: PlatformError) -> None:
        from platforms.models import ErrorLog

        ErrorLog.objects.create(
            platform=self.platform,
            error_class=error.error_class,
            endpoint=error.endpoint[:128],
            status_code=error.status,
            code=str(error.code if error.code is not None else "")[:64],
            reason=str(error.reason)[:128],
            subcode=str(error.subcode if error.subcode is not None else "")[:64],
            message=redact(error.message),
            account=self.account,
            request_id=str(error.request_id)[:128],
            context=redact_data(
                {
                    **error.context,
                    "retry_after": error.retry_after,
                    "permanent": error.permanent,
                }
            ),
        )
        self.logger.info("%s failed: %s", error.endpoint, redact(str(error)))

    # --- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> BasePlatformClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
