"""Reading platform replies defensively: a bad body is an error, not a 500."""

from __future__ import annotations

from typing import Any, Protocol

from allauth.socialaccount.providers.oauth2.client import OAuth2Error


class _Response(Protocol):
    def json(self) -> Any: ...


def json_object(response: _Response) -> dict[str, Any]:
    """The reply's JSON object, or {} when the body is not a JSON object.

    Works for both `requests` (allauth's calls) and `httpx` responses.
    """
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class ProfileError(OAuth2Error):
    """The platform's profile call failed; the message is shown to the creator."""
