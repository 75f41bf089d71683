"""Google: OAuth 2.0, userinfo, YouTube Data API v3 and YouTube Analytics v2.

Hosts: accounts.google.com → /google-accounts, oauth2.googleapis.com →
/google-oauth2, openidconnect.googleapis.com → /google-openid,
www.googleapis.com → /google-apis, youtubeanalytics.googleapis.com →
/youtube-analytics.
"""

from __future__ import annotations

from .service import Google

__all__ = ["Google"]
