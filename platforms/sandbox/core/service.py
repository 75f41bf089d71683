"""Base class of a platform imitation: routes, auth helpers, error bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .http import Request, Response, json_response

if TYPE_CHECKING:
    from ..app import Sandbox
    from .world import Account

Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    endpoint: str
    handler: Handler
    platform: str


class Service:
    """One real host (or a few), served below one or more path prefixes."""

    prefixes: tuple[str, ...] = ()

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.routes: dict[str, list[Route]] = {p: [] for p in self.prefixes}
        self.register()

    def register(self) -> None:
        raise NotImplementedError

    def route(
        self,
        prefix: str,
        methods: str,
        pattern: str,
        endpoint: str,
        handler: Handler,
        platform: str,
    ) -> None:
        self.routes[prefix].append(
            Route(
                tuple(methods.split(",")),
                re.compile(pattern + r"\Z"),
                endpoint,
                handler,
                platform,
            )
        )

    def resolve(
        self, prefix: str, method: str, path: str
    ) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes.get(prefix, ()):
            match = route.pattern.match(path)
            if match and method in route.methods:
                return route, match.groupdict()
        return None

    @property
    def now(self) -> float:
        return self.sb.clock.now()

    def access_expiry(self, ttl: float, *, now: float | None = None) -> float:
        """The sandbox instant an access token issued at `now` stops working.

        Lifetimes count sandbox seconds, as on the platform. With
        `tokens.real_time_ttl` (the demo's fast clock) they count real
        seconds instead: the product reads `expires_in` against its own,
        real clock and refreshes ahead of it, so a token that expired 60
        times sooner would fail every call made in between.
        """
        start = self.now if now is None else now
        if self.config("tokens").get("real_time_ttl"):
            return start + ttl * self.sb.clock.speed
        return start + ttl

    def reset(self) -> None:
        """Forget per-service state (the sandbox reset calls this)."""

    def issue_for(self, account: Account, scopes: list[str] | None) -> dict[str, Any]:
        """The token reply of a completed OAuth flow for `account`."""
        raise NotImplementedError

    def endpoint_for(self, route: Route, request: Request) -> str:
        """The endpoint name; a service may refine it from the parameters."""
        return route.endpoint

    def page_fault(self, request: Request) -> str | None:
        """The paging fault for a page continuing a listing (`repeat_cursor`,
        `empty_page`), or None; the request log records it."""
        kind = self.sb.faults.paging(request.platform, request.endpoint)
        request.fault = request.fault or kind
        return kind

    # Platform-specific replies used by the router and the fault injector.

    def token_of(self, request: Request) -> str | None:
        return request.bearer()

    def not_found(self, request: Request) -> Response:
        return json_response({"error": "not_found", "path": request.path}, 404)

    def server_error(self, request: Request, status: int) -> Response:
        raise NotImplementedError

    def throttled(self, request: Request, retry_after: int, in_200: bool) -> Response:
        raise NotImplementedError

    def invalid_token(self, request: Request) -> Response:
        raise NotImplementedError

    def config(self, *path: str) -> Any:
        node: Any = self.sb.config
        for key in path:
            node = node[key]
        return node
