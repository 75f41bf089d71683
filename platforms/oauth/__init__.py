"""Connecting creator accounts through django-allauth's "connect" process.

allauth's own `tiktok`, `google` and `facebook` providers hard-code the
platform hosts. The subpackages here extend them under the same provider ids
so that every authorize, token and profile URL comes from settings
(`TIKTOK_AUTH_URL`, `GOOGLE_TOKEN_URL`, `FACEBOOK_GRAPH_URL`, ...): with
`SANDBOX=1` the whole browser flow runs against the local sandbox.

They replace allauth's classes through the documented
`SOCIALACCOUNT_PROVIDERS[<id>]["provider_class"]` setting; allauth's provider
apps stay in `INSTALLED_APPS` only so its registry finds the provider ids.

Layout, one subpackage per provider, like allauth's own::

    tiktok/ google/ facebook/   provider.py (provider), views.py (adapter +
                                views), urls.py (login/ and login/callback/)
    grant.py                    the token reply, kept off the database
    discovery.py                which platform accounts a grant reaches
    connect.py                  discovery + `platforms.services.connections`
    adapter.py                  SOCIALACCOUNT_ADAPTER: connect only, and
                                a clear page for every failure
    replies.py                  JSON bodies read without trusting them
"""

from __future__ import annotations

from platforms.models import Platform

# allauth provider id -> the platform a connection through it adds. Instagram
# accounts are reached through Facebook Login, YouTube channels through Google.
PROVIDER_PLATFORMS: dict[str, str] = {
    "tiktok": Platform.TIKTOK,
    "google": Platform.YOUTUBE,
    "facebook": Platform.INSTAGRAM,
}
PLATFORM_PROVIDERS: dict[str, str] = {
    platform: provider for provider, platform in PROVIDER_PLATFORMS.items()
}
