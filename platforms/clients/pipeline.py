"""The request pipeline every platform call goes through (a client mixin).

limit (shared buckets) → quota (YouTube) → send → log (DEBUG line on
`platforms.<platform>` with the redacted URL + an ApiCallLog row) →
validate (the platform's envelope, even in HTTP 200) → retry transient
failures → one token refresh on a rejected token → an ErrorLog row for a
failure that is final. Tokens never reach a log: URLs and messages pass
through `platforms.logging.redact`, and headers are never logged.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from platforms.clients.credentials import token_digest
from platforms.exceptions import (
    PlatformAPIError,
    PlatformAuthError,
    PlatformDataError,
    PlatformError,
    PlatformRateLimitError,
    error_class_for,
)
from platforms.http import RetryPolicy, error_from_transport, request_with_retries
from platforms.logging import redact, redact_data

if TYPE_CHECKING:
    from platforms.models import ConnectedAccount
    from platforms.ratelimit import BucketSpec, Limiter

#: What `request` returns for a 304 reply to a conditional request.
NOT_MODIFIED = object()


class RequestPipeline:
    """Sending, validating, logging and recording; mixed into the base client."""

    platform: str
    throttle_pause_seconds: float
    account: ConnectedAccount | None
    http: httpx.Client
    retry_policy: RetryPolicy
    sleep: Callable[[float], None]
    logger: logging.Logger
    request_count: int
    limiter: Limiter

    if TYPE_CHECKING:  # provided by BasePlatformClient and TokenHolder

        def authenticate(self) -> str: ...
        def auth_headers(self, token: str) -> dict[str, str]: ...
        def can_refresh(self) -> bool: ...
        def refresh_now(self) -> dict[str, Any]: ...
        def handle_rate_limits(self, endpoint: str) -> None: ...
        def charge_quota(self, endpoint: str, cost: int) -> None: ...

        quota_project: str

        def observe_response(self, endpoint: str, response: httpx.Response) -> None: ...
        def on_error(self, error: PlatformError) -> None: ...
        def bucket_specs(self, endpoint: str) -> list[BucketSpec]: ...
        def validate_response(
            self, response: httpx.Response, *, endpoint: str
        ) -> Any: ...

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
                self.refresh_now(rejected=error.context.get("token_digest"))
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
            token = self.authenticate()
            all_headers.update(self.auth_headers(token))
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
            if auth and isinstance(error, PlatformAuthError):
                # Lets a refresh tell whether another thread already replaced it.
                error.context["token_digest"] = token_digest(token)
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
            project=self.quota_project if quota_cost else "",
            account=self.account,
        )

    def _record_error(self, error: PlatformError) -> None:
        """Write the error's ErrorLog row (once) and mark it `logged`."""
        from platforms.models import ErrorLog

        if error.logged:
            return
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
                    **{k: v for k, v in error.context.items() if k != "token_digest"},
                    "retry_after": error.retry_after,
                    "permanent": error.permanent,
                }
            ),
        )
        error.logged = True
        self.logger.info("%s failed: %s", error.endpoint, redact(str(error)))
