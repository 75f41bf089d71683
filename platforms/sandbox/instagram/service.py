"""The Facebook service: the login dialog and the Graph API routes."""

from __future__ import annotations

from ..core.http import Request
from ..core.service import Route
from .batch import GraphBatch
from .common import V
from .insights import GraphInsights
from .oauth import FacebookOAuth


class Facebook(FacebookOAuth, GraphInsights, GraphBatch):
    """www.facebook.com and graph.facebook.com (any vNN.N version)."""

    prefixes = ("facebook-www", "facebook-graph")

    def register(self) -> None:
        r = self.route
        r(
            "facebook-www",
            "GET,POST",
            r"/v\d+\.\d+/dialog/oauth/?",
            "facebook.oauth.dialog",
            self.dialog,
            "instagram",
        )
        g = "facebook-graph"
        r(
            g,
            "GET,POST",
            V + r"/oauth/access_token",
            "facebook.oauth.access_token",
            self.access_token,
            "instagram",
        )
        r(g, "POST", V + r"/?", "graph.batch", self.batch, "instagram")
        r(g, "GET", V + r"/me", "graph.me", self.me, "instagram")
        r(
            g,
            "GET",
            V + r"/me/accounts",
            "graph.me.accounts",
            self.me_accounts,
            "instagram",
        )
        r(
            g,
            "GET",
            V + r"/(?P<id>178414\d{11})/insights",
            "graph.ig_user.insights",
            self.user_insights,
            "instagram",
        )
        r(
            g,
            "GET",
            V + r"/(?P<id>178414\d{11})/media",
            "graph.ig_media",
            self.user_media,
            "instagram",
        )
        r(
            g,
            "GET",
            V + r"/(?P<id>178414\d{11})/stories",
            "graph.ig_stories",
            self.user_stories,
            "instagram",
        )
        r(
            g,
            "GET",
            V + r"/(?P<id>178414\d{11})",
            "graph.ig_user",
            self.ig_user,
            "instagram",
        )
        r(
            g,
            "GET",
            V + r"/(?P<id>\d+)/insights",
            "graph.media.insights",
            self.media_insights,
            "instagram",
        )
        r(g, "GET", V + r"/(?P<id>\d+)", "graph.media", self.media, "instagram")

    def endpoint_for(self, route: Route, request: Request) -> str:
        if (
            route.endpoint == "graph.ig_user"
            and "business_discovery" in request.query.get("fields", "")
        ):
            return "graph.business_discovery"
        return route.endpoint
