"""The TikTok service: every route below its three host prefixes."""

from __future__ import annotations

from .business import BusinessAPI
from .display import DisplayAPI
from .oauth import TikTokOAuth


class TikTok(TikTokOAuth, DisplayAPI, BusinessAPI):
    """www.tiktok.com, open.tiktokapis.com and business-api.tiktok.com."""

    prefixes = ("tiktok-www", "tiktok-open", "tiktok-business")

    def register(self) -> None:
        r = self.route
        r(
            "tiktok-www",
            "GET,POST",
            r"/v2/auth/authorize/?",
            "tiktok.oauth.authorize",
            self.authorize,
            "tiktok",
        )
        r(
            "tiktok-open",
            "POST",
            r"/v2/oauth/token/?",
            "tiktok.oauth.token",
            self.token,
            "tiktok",
        )
        r(
            "tiktok-open",
            "POST",
            r"/v2/oauth/revoke/?",
            "tiktok.oauth.revoke",
            self.revoke,
            "tiktok",
        )
        r(
            "tiktok-open",
            "GET",
            r"/v2/user/info/?",
            "tiktok.user.info",
            self.user_info,
            "tiktok",
        )
        r(
            "tiktok-open",
            "POST",
            r"/v2/video/list/?",
            "tiktok.video.list",
            self.video_list,
            "tiktok",
        )
        r(
            "tiktok-open",
            "POST",
            r"/v2/video/query/?",
            "tiktok.video.query",
            self.video_query,
            "tiktok",
        )
        biz = r"/open_api/v1\.3/business"
        r(
            "tiktok-business",
            "GET",
            biz + r"/get/?",
            "tiktok.business.get",
            self.business_get,
            "tiktok",
        )
        r(
            "tiktok-business",
            "GET",
            biz + r"/video/list/?",
            "tiktok.business.video.list",
            self.business_video_list,
            "tiktok",
        )
