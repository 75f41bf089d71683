"""Drive the browser side of a connect: Django test client + sandbox consent.

The Django test client cannot follow a redirect to another host, so the
consent page is fetched and submitted with httpx over loopback, exactly as
a browser would, and the platform's redirect back is replayed on the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import httpx
from django.http import HttpResponse
from django.test import Client


@dataclass
class ConsentForm:
    hidden: dict[str, str] = field(default_factory=dict)
    accounts: list[str] = field(default_factory=list)
    checked: str = ""


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = ConsentForm()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "input":
            return
        values = {key: value or "" for key, value in attrs}
        if values.get("type") == "hidden":
            self.form.hidden[values["name"]] = values.get("value", "")
        elif values.get("type") == "radio" and values.get("name") == "account":
            self.form.accounts.append(values["value"])
            if "checked" in values:
                self.form.checked = values["value"]


def parse_consent(html: str) -> ConsentForm:
    parser = _FormParser()
    parser.feed(html)
    return parser.form


def start_connect(client: Client, provider: str, **params: str) -> str:
    """POST the Connect button; return the platform authorize URL."""
    query = urlencode({"process": "connect", **params})
    response = client.post(f"/accounts/{provider}/login/?{query}")
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def consent(
    authorize_url: str,
    *,
    decision: str = "approve",
    account: str = "",
    scope: str | None = None,
) -> str:
    """Answer the sandbox consent page; return the redirect back to us.

    `scope` replaces the requested scopes, as a creator unticking some
    permissions on the real consent screens would.
    """
    page = httpx.get(authorize_url)
    assert page.status_code == 200, page.text[:500]
    form = parse_consent(page.text)
    data = {
        **form.hidden,
        "account": account or form.checked,
        "decision": decision,
    }
    if scope is not None:
        data["scope"] = scope
    answer = httpx.post(authorize_url, data=data)
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["location"]


def follow_back(client: Client, redirect_url: str) -> HttpResponse:
    """Replay the platform's redirect to our callback on the test client."""
    parts = urlsplit(redirect_url)
    assert parts.netloc == "testserver", redirect_url
    return client.get(f"{parts.path}?{parts.query}")


def connect(
    client: Client,
    provider: str,
    *,
    decision: str = "approve",
    account: str = "",
    scope: str | None = None,
    **params: str,
) -> HttpResponse:
    """The whole round trip: Connect button, consent page, callback."""
    authorize_url = start_connect(client, provider, **params)
    back = consent(authorize_url, decision=decision, account=account, scope=scope)
    return follow_back(client, back)
