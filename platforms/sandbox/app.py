"""The Sandbox: one WSGI app serving TikTok, Google/YouTube and Facebook/Graph.

Each real host is a path prefix with the real paths below it, e.g.
`/tiktok-open/v2/video/list/` stands for `open.tiktokapis.com/v2/video/list/`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .core.clock import Clock
from .core.config import load_config
from .core.faults import FaultInjector, FaultRule
from .core.http import (
    STATUS_TEXT,
    Request,
    Response,
    SandboxDisconnect,
    SandboxTimeout,
    json_response,
)
from .core.limits import QuotaLedger, SlidingWindow
from .core.requestlog import LoggedRequest, RequestLog
from .core.service import Service
from .core.tokens import TokenStore, fingerprint
from .core.world import World

StartResponse = Callable[..., Any]


class Sandbox:
    """A seeded, in-memory imitation of the three platforms.

    `Sandbox(seed=42, config={...})` is a WSGI callable; `.asgi` is the same
    app for ASGI servers and `.transport()` plugs it into an httpx.Client.
    """

    def __init__(
        self, seed: int = 0, config: dict[str, Any] | str | Path | None = None
    ) -> None:
        self.seed = seed
        self.config = load_config(config)
        self.clock = Clock()
        self._configure_clock()
        self.faults = FaultInjector(seed)
        self.requests = RequestLog(int(self.config["request_log_size"]))
        self.windows = SlidingWindow()
        self.quota = QuotaLedger(self.config["limits"]["youtube"]["quota_timezone"])
        self.tokens = TokenStore(seed)
        self.world = World(seed, self.config["world"], self.clock.now())
        self._stopping = threading.Event()
        for rule in self.config["faults"]:
            self.faults.add(**rule)
        self._services: dict[str, Service] = {}
        self._build_services()
        self._asgi: Any = None

    def _configure_clock(self) -> None:
        self.clock.reset()
        clock_conf = self.config["clock"]
        if clock_conf.get("frozen_at"):
            self.clock.freeze(clock_conf["frozen_at"])
        elif clock_conf.get("start"):
            self.clock.set(clock_conf["start"])
        if clock_conf.get("speed"):
            self.clock.set_speed(clock_conf["speed"])

    def _build_services(self) -> None:
        from .control import Control
        from .instagram import Facebook
        from .tiktok import TikTok
        from .youtube import Google

        for service_class in (TikTok, Google, Facebook, Control):
            service = service_class(self)
            for prefix in service.prefixes:
                self._services[prefix] = service

    # --- public helpers ------------------------------------------------

    @property
    def asgi(self) -> Any:
        """The same app behind asgiref's WSGI-to-ASGI adapter."""
        if self._asgi is None:
            from asgiref.wsgi import WsgiToAsgi

            self._asgi = WsgiToAsgi(self)
        return self._asgi

    def transport(self) -> Any:
        """An httpx transport that calls this app in-process."""
        from .transports import SandboxTransport

        return SandboxTransport(app=self)

    def async_transport(self) -> Any:
        from .transports import AsyncSandboxTransport

        return AsyncSandboxTransport(app=self.asgi)

    def issue_tokens(
        self, platform: str, account_id: str | int, scopes: list[str] | None = None
    ) -> dict[str, Any]:
        """The platform's own token reply, as if the OAuth flow had completed."""
        name = {"google": "youtube", "facebook": "instagram"}.get(platform, platform)
        accounts = self.world.accounts(name)
        if isinstance(account_id, int):
            account = accounts[account_id]
        else:
            account = self.world.account(account_id) or self.world.account_by_external(
                name, account_id
            )
        if account is None or account.platform != name:
            raise KeyError(f"no sandbox {name} account {account_id!r}")
        service = self._services[
            {"tiktok": "tiktok-open", "youtube": "google-oauth2"}.get(
                name, "facebook-graph"
            )
        ]
        return service.issue_for(account, scopes)

    def set_visibility(
        self, platform: str, item_id: str, visibility: str
    ) -> dict[str, str]:
        """The creator deletes ("deleted"), privatises ("private") or
        republishes ("public") an item; every reply serves it so from now on.

        YouTube shows a deleted or private video as a placeholder in the
        uploads playlist and leaves it out of videos.list; TikTok and
        Instagram leave it out everywhere (a listing page comes back short).
        """
        name = {"google": "youtube", "facebook": "instagram"}.get(platform, platform)
        if name not in {"tiktok", "youtube", "instagram"}:
            raise ValueError(f"unknown platform {platform!r}")
        item = self.world.set_visibility(name, str(item_id), visibility)
        return {
            "platform": name,
            "item": item.external_id,
            "visibility": visibility,
        }

    def reset(self) -> None:
        """Back to the start: tokens, faults, limits, quota, log, clock and
        item visibility."""
        self._configure_clock()
        self.world.reset_visibility()
        self.tokens.clear()
        self.faults.clear()
        self.windows.clear()
        self.quota.clear()
        self.requests.clear()
        for service in set(self._services.values()):
            service.reset()
        for rule in self.config["faults"]:
            self.faults.add(**rule)

    def stop(self) -> None:
        """Wake requests sleeping in a timeout fault (server shutdown)."""
        self._stopping.set()

    def state(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "clock": self.clock.state(),
            # Lifetimes only (no secrets here): whether they count real time.
            "tokens": self.config["tokens"],
            "anchor": self.world.anchor,
            "accounts": {
                platform: [
                    {
                        "id": a.id,
                        "handle": a.handle,
                        "external_id": a.external_id,
                        "business": a.business,
                        "has_stories": a.has_stories,
                        "hidden_subscriber_count": a.hidden_subscriber_count,
                        "followers": self.world.followers(a, self.clock.now()),
                        "items": a.item_count,
                    }
                    for a in self.world.accounts(platform)
                ]
                for platform in ("tiktok", "youtube", "instagram")
            },
            "faults": [r.as_dict() for r in self.faults.rules()],
            "visibility": self.world.changed_visibility(),
            "quota": self.quota.snapshot(),
            "requests": self.requests.counts(),
            "throttled": self.requests.throttled_count(),
        }

    # --- WSGI ---------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        response = self.handle(environ)
        reason = STATUS_TEXT.get(response.status, "Unknown")
        headers = list(response.headers)
        if response.status != 304:
            headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {reason}", headers)
        return [response.body] if response.status != 304 else [b""]

    def handle(self, environ: dict[str, Any]) -> Response:
        raw_path = environ.get("PATH_INFO", "") or "/"
        prefix, _, rest = raw_path.lstrip("/").partition("/")
        service = self._services.get(prefix)
        if service is None:
            return json_response(
                {
                    "error": f"unknown sandbox prefix {prefix!r}",
                    "prefixes": sorted(self._services),
                },
                404,
            )
        request = Request(environ, "/" + rest)
        found = service.resolve(prefix, request.method, request.path)
        if found is None:
            return service.not_found(request)
        route, match = found
        request.match = match
        request.platform = route.platform
        request.endpoint = service.endpoint_for(route, request)
        if route.platform == "sandbox":
            return route.handler(request)
        request.token = service.token_of(request)
        decision = self.faults.decide(route.platform, route.endpoint)
        fault: FaultRule | None = None
        try:
            if decision.latency:
                time.sleep(decision.latency)
            if decision.revoke and request.token:
                token = self.tokens.get(request.token)
                if token is not None:
                    self.tokens.revoke_family(token.family)
            if decision.terminal is not None:
                fault = decision.terminal
                response = self._terminal_fault(service, request, fault, environ)
            else:
                response = route.handler(request)
                if decision.body is not None and response.status < 300:
                    fault = decision.body
                    response = _spoil(response, fault.kind)
        except SandboxDisconnect:
            self._log(request, 0, False, fault.kind if fault else "drop")
            raise
        self._log(
            request,
            response.status,
            response.throttled,
            fault.kind if fault else request.fault,
        )
        return response

    def _terminal_fault(
        self,
        service: Service,
        request: Request,
        rule: FaultRule,
        environ: dict[str, Any],
    ) -> Response:
        retry_after = rule.retry_after or int(
            self.config["limits"]["retry_after_seconds"]
        )
        if rule.kind == "status_500":
            return service.server_error(request, rule.status)
        if rule.kind == "burst_429":
            return service.throttled(request, retry_after, in_200=False)
        if rule.kind == "throttle_in_200":
            return service.throttled(request, retry_after, in_200=True)
        if rule.kind == "timeout":
            if environ.get("sandbox.served"):
                # Over a socket: hold the connection until the client gives up.
                self._stopping.wait(float(self.config["timeout_seconds"]))
                raise SandboxDisconnect("timeout")
            raise SandboxTimeout("timeout")
        raise SandboxDisconnect("drop")

    def _log(
        self, request: Request, status: int, throttled: bool, fault: str | None
    ) -> None:
        self.requests.add(
            LoggedRequest(
                at=self.clock.now(),
                platform=request.platform,
                endpoint=request.endpoint,
                method=request.method,
                path=request.path,
                status=status,
                token=fingerprint(request.token) if request.token else None,
                throttled=throttled,
                fault=fault,
            )
        )


def _spoil(response: Response, kind: str) -> Response:
    """Break a good JSON body: cut it in half, or make it invalid."""
    body = response.body
    if kind == "truncated_json":
        spoiled = body[: max(len(body) // 2, 1)]
    else:
        spoiled = b'{"data": {"partial": tru' + b"<html>502 Bad Gateway</html>"
    headers = [(k, v) for k, v in response.headers if k.lower() != "etag"]
    return Response(response.status, spoiled, headers)


def load_json(text: str) -> Any:
    return json.loads(text)
