"""The Google service: every route below its five host prefixes."""

from __future__ import annotations

from .analytics import AnalyticsAPI
from .data import DataAPI
from .oauth import GoogleOAuth


class Google(GoogleOAuth, DataAPI, AnalyticsAPI):
    """accounts.google.com, the googleapis.com hosts and youtubeanalytics."""

    prefixes = (
        "google-accounts",
        "google-oauth2",
        "google-openid",
        "google-apis",
        "youtube-analytics",
    )

    def register(self) -> None:
        r = self.route
        r(
            "google-accounts",
            "GET,POST",
            r"/o/oauth2(/v2)?/auth",
            "google.oauth.authorize",
            self.authorize,
            "youtube",
        )
        r(
            "google-oauth2",
            "POST",
            r"/token",
            "google.oauth.token",
            self.token,
            "youtube",
        )
        r(
            "google-oauth2",
            "POST,GET",
            r"/revoke",
            "google.oauth.revoke",
            self.revoke,
            "youtube",
        )
        r(
            "google-openid",
            "GET",
            r"/v1/userinfo",
            "google.userinfo",
            self.userinfo_v3,
            "youtube",
        )
        r(
            "google-apis",
            "GET",
            r"/oauth2/v3/userinfo",
            "google.userinfo",
            self.userinfo_v3,
            "youtube",
        )
        r(
            "google-apis",
            "GET",
            r"/oauth2/v[12]/userinfo",
            "google.userinfo",
            self.userinfo_v2,
            "youtube",
        )
        r(
            "google-apis",
            "GET",
            r"/youtube/v3/channels",
            "youtube.channels",
            self.channels,
            "youtube",
        )
        r(
            "google-apis",
            "GET",
            r"/youtube/v3/playlistItems",
            "youtube.playlistItems",
            self.playlist_items,
            "youtube",
        )
        r(
            "google-apis",
            "GET",
            r"/youtube/v3/videos",
            "youtube.videos",
            self.videos,
            "youtube",
        )
        r(
            "google-apis",
            "GET",
            r"/youtube/v3/commentThreads",
            "youtube.commentThreads",
            self.comment_threads,
            "youtube",
        )
        r(
            "youtube-analytics",
            "GET",
            r"/v2/reports",
            "youtube.analytics.reports",
            self.reports,
            "youtube",
        )
        self.granted = {}
