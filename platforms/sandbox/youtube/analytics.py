"""YouTube Analytics API v2: the reports endpoint."""

from __future__ import annotations

from ..core.http import Request, Response, json_response
from .base import GoogleBase
from .common import YT, google_error
from .report import AnalyticsReport, ReportError


class AnalyticsAPI(GoogleBase):
    """reports.query, with its own quota bucket."""

    def reports(self, request: Request) -> Response:
        # Reference: https://developers.google.com/youtube/analytics/reference/reports/query
        if not request.token:
            return google_error(
                401,
                "Login Required.",
                "required",
                state="UNAUTHENTICATED",
                location="Authorization",
                locationType="header",
            )
        analytics = {
            YT + "yt-analytics.readonly",
            YT + "yt-analytics-monetary.readonly",
        }
        project, token, error = self._project(request, analytics)
        if error:
            return error
        assert token is not None
        conf = self.config("limits", "youtube")
        error = self._charge(
            request,
            project,
            "youtube.analytics",
            conf["analytics_cost"],
            conf["analytics_daily_quota"],
        )
        if error:
            return error
        account = self.sb.world.account(token.account_id)
        assert account is not None
        try:
            table = AnalyticsReport(
                self.sb, account, token.scopes, request.query
            ).build()
        except ReportError as exc:
            return google_error(exc.status, exc.message, exc.reason, state=exc.state)
        return json_response(table)
