"""Control endpoints under /_sandbox/: state, clock, faults, request log,
tokens and item visibility."""

from __future__ import annotations

from typing import Any

from .core.http import Request, Response, json_response
from .core.service import Service


class Control(Service):
    prefixes = ("_sandbox",)

    def register(self) -> None:
        r = self.route
        r("_sandbox", "GET", r"/(state)?", "sandbox.state", self.state, "sandbox")
        r("_sandbox", "POST", r"/clock", "sandbox.clock", self.clock, "sandbox")
        r(
            "_sandbox",
            "GET,POST,DELETE",
            r"/faults",
            "sandbox.faults",
            self.faults,
            "sandbox",
        )
        r("_sandbox", "GET", r"/requests", "sandbox.requests", self.requests, "sandbox")
        r("_sandbox", "POST", r"/reset", "sandbox.reset", self.reset_all, "sandbox")
        r("_sandbox", "POST", r"/tokens", "sandbox.tokens", self.tokens, "sandbox")
        r("_sandbox", "POST", r"/items", "sandbox.items", self.items, "sandbox")

    def not_found(self, request: Request) -> Response:
        return json_response({"error": f"no control endpoint {request.path}"}, 404)

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            data = request.json() if request.body else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def state(self, request: Request) -> Response:
        return json_response(self.sb.state())

    def clock(self, request: Request) -> Response:
        try:
            body = self._body(request)
            return self._move_clock(body)
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)

    def _move_clock(self, body: dict[str, Any]) -> Response:
        clock = self.sb.clock
        action = body.get("action")
        if action == "freeze":
            clock.freeze(body.get("at"))
        elif action == "unfreeze":
            clock.unfreeze()
        elif action == "advance":
            clock.advance(_number(body, "seconds"))
        elif action == "offset":
            clock.set_offset(_number(body, "seconds"))
        elif action == "set":
            if "at" not in body:
                raise ValueError("set needs 'at'")
            clock.set(body["at"])
        elif action == "speed":
            clock.set_speed(_number(body, "speed"))
        else:
            raise ValueError(
                "action must be freeze, unfreeze, advance, offset, set or speed"
            )
        return json_response(clock.state())

    def faults(self, request: Request) -> Response:
        faults = self.sb.faults
        if request.method == "DELETE":
            faults.clear()
        elif request.method == "POST":
            try:
                body = self._body(request)
                if body.get("clear"):
                    faults.clear()
                for rule in body.get("rules", [body] if "kind" in body else []):
                    faults.add(**rule)
                if "remove" in body:
                    faults.remove(int(body["remove"]))
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, 400)
        return json_response({"rules": [r.as_dict() for r in faults.rules()]})

    def requests(self, request: Request) -> Response:
        q = request.query
        filters: dict[str, Any] = {
            "platform": q.get("platform") or None,
            "endpoint": q.get("endpoint") or None,
            "token": q.get("token") or None,
            "status": int(q["status"]) if q.get("status") else None,
        }
        log = self.sb.requests
        return json_response(
            {
                "counts": log.counts(**filters),
                "total": log.count(**filters),
                "throttled": log.throttled_count(**filters),
                "recent": log.recent(**filters, limit=int(q.get("limit", "100"))),
            }
        )

    def reset_all(self, request: Request) -> Response:
        self.sb.reset()
        return json_response({"ok": True})

    def tokens(self, request: Request) -> Response:
        try:
            body = self._body(request)
            reply = self.sb.issue_tokens(
                body["platform"], body["account"], body.get("scopes")
            )
        except (KeyError, IndexError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(reply)

    def items(self, request: Request) -> Response:
        """{"platform", "item", "visibility"}: delete, privatise or republish."""
        try:
            body = self._body(request)
            missing = [k for k in ("platform", "item", "visibility") if k not in body]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            reply = self.sb.set_visibility(
                str(body["platform"]), str(body["item"]), str(body["visibility"])
            )
        except KeyError as exc:
            return json_response({"error": exc.args[0]}, 404)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(reply)


def _number(body: dict[str, Any], name: str) -> float:
    """A finite number from the request body; a clear error otherwise."""
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name!r} must be a number")
    number = float(value)
    if number != number or number in {float("inf"), float("-inf")}:
        raise ValueError(f"{name!r} must be a finite number")
    return number
