"""Helpers of the production test: the web process and a creator's HTTP session.

`Creator` does over plain HTTP what a creator's browser does: it keeps the
cookies, reads each form it is shown (hidden fields, CSRF token, radio
buttons) and submits it where the browser would, following the platform's
redirects back to the product one step at a time.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from tests.multiprocess.test_clusters import Children, wait_until

HTTP_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_sandbox(children: Children, env: dict[str, str], config: dict) -> str:
    """The served sandbox with a full config (world, faults); its base URL."""
    path = children.folder / "sandbox.json"
    path.write_text(json.dumps(config))
    output = children.start(
        "sandbox",
        ["manage.py", "sandbox", "--port", "0", "--config", str(path)],
        env,
    )
    found: list[str] = []

    def serving() -> bool:
        match = re.search(r"serving on (http://\S+)", output.read_text())
        if match:
            found.append(match.group(1))
        return bool(match)

    wait_until(serving, "the sandbox", children, "sandbox")
    return found[0]


def serve_web(children: Children, env: dict[str, str], port: int) -> str:
    """`gunicorn socialmetrics.wsgi`, as the README's deployment runs it."""
    children.start(
        "web",
        ["-m", "gunicorn", "socialmetrics.wsgi"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "2"]
        + ["--access-logfile", "-", "--timeout", "60"],
        env,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, "the web process", children, "web")
    return url


# --- reading forms ------------------------------------------------------------


@dataclass
class Form:
    """One <form>: where it goes, its fields, and its submit buttons."""

    action: str | None
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    #: radio name → every value offered, in page order
    radios: dict[str, list[str]] = field(default_factory=dict)
    #: (label text, name, value) of each submit button
    buttons: list[tuple[str, str, str]] = field(default_factory=list)

    def button(self, label: str) -> tuple[str, str]:
        """The (name, value) a click on the button labelled `label` sends."""
        for text, name, value in self.buttons:
            if text == label:
                return name, value
        raise AssertionError(f"no button {label!r} in {self.buttons}")


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._button: list[str] | None = None
        self._button_attrs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(
                Form(
                    action=dict(attrs).get("action"),
                    method=values.get("method", "get").lower(),
                )
            )
        elif not self.forms:
            return
        elif tag == "input" and "name" in values:
            form, kind = self.forms[-1], values.get("type", "text")
            if kind == "radio":
                form.radios.setdefault(values["name"], []).append(values["value"])
                if "checked" in values:
                    form.fields[values["name"]] = values["value"]
            elif kind not in {"submit", "checkbox"}:
                form.fields[values["name"]] = values.get("value", "")
        elif tag == "button":
            self._button, self._button_attrs = [], values

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append(
                (
                    " ".join("".join(self._button).split()),
                    self._button_attrs.get("name", ""),
                    self._button_attrs.get("value", ""),
                )
            )
            self._button = None


def forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


# --- a creator's browser ------------------------------------------------------


class Creator:
    """A creator's browser session against the web process, over HTTP."""

    def __init__(self, site: str) -> None:
        self.site = site
        # One cookie jar for every host, redirects taken one at a time.
        self.http = httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def get(self, url: str) -> httpx.Response:
        response = self.http.get(urljoin(self.site, url))
        assert response.status_code == 200, (url, response.status_code)
        return response

    def submit(
        self, page: httpx.Response, form: Form, button: str, **values: str
    ) -> httpx.Response:
        """Click `button` of `form` on `page`, with `values` filled in.

        A form without an action goes back to the page's own URL, query
        string included, as browsers do.
        """
        data: dict[str, Any] = {**form.fields, **values}
        name, value = form.button(button)
        if name:
            data[name] = value
        target = (
            str(page.url) if not form.action else urljoin(str(page.url), form.action)
        )
        assert form.method == "post", form
        return self.http.post(target, data=data)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """Take one redirect the way a browser does (never sending the #fragment)."""
        assert response.status_code in (301, 302, 303), (
            response.status_code,
            response.text[:500],
        )
        location = urljoin(str(response.url), response.headers["location"])
        return self.http.get(urlunsplit(urlsplit(location)._replace(fragment="")))

    def sign_up(self, email: str, password: str) -> httpx.Response:
        page = self.get("/accounts/signup/")
        (form,) = [f for f in forms_of(page.text) if f.fields.get("email") is not None]
        done = self.submit(
            page, form, "Sign up", email=email, password1=password, password2=password
        )
        assert done.status_code == 302, done.text[:2000]
        return self.follow(done)

    def connect(self, button: str, *, account: str) -> httpx.Response:
        """Connections page → Connect → the platform's consent → back again.

        `account` is the radio button to pick on the consent page: which of
        the platform's (sandbox) accounts the creator signs in with.
        """
        page = self.get("/connections/")
        (form,) = [
            f for f in forms_of(page.text) if button in [b[0] for b in f.buttons]
        ]
        to_platform = self.submit(page, form, button)
        consent = self.follow(to_platform)
        assert consent.status_code == 200, consent.text[:500]
        assert urlsplit(str(consent.url)).netloc != urlsplit(self.site).netloc
        (choice,) = forms_of(consent.text)
        assert account in choice.radios["account"], choice.radios
        back = self.submit(consent, choice, "Approve", account=account)
        callback = self.follow(back)
        assert urlsplit(str(callback.url)).netloc == urlsplit(self.site).netloc
        landed = self.follow(callback)
        assert landed.status_code == 200, landed.text[:500]
        return landed
