"""Facebook Login and the Instagram Graph API (business and creator accounts).

Hosts: www.facebook.com → /facebook-www, graph.facebook.com → /facebook-graph.
Paths are versioned (`/v25.0/...`); any vNN.N is accepted, and no version too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from .core.consent import consent_page, error_page
from .core.fields import parse_graph_fields
from .core.http import (
    Request,
    Response,
    SandboxDisconnect,
    html_response,
    json_response,
    redirect,
)
from .core.service import Route, Service
from .core.tokens import Grant, Token
from .core.world import DAY, Account, Item, iso_graph, stable_hash, unit
from .oauth_common import redirect_allowed, with_query

V = r"(?:/v\d+\.\d+)?"
PACIFIC = ZoneInfo("America/Los_Angeles")
RETIRED = {
    "video_views": (
        "(#100) The video_views metric is no longer supported. Please use "
        "views instead."
    ),
    "impressions": (
        "(#100) Starting from version v22.0 and above, the impressions metric is no "
        "longer supported. Please use views instead."
    ),
    "plays": (
        "(#100) Starting from version v22.0 and above, the plays metric is "
        "no longer supported. Please use views instead."
    ),
    "clips_replays_count": (
        "(#100) Starting from version v22.0 and above, the "
        "clips_replays_count metric is no longer supported."
    ),
    "ig_reels_aggregated_all_plays_count": (
        "(#100) Starting from version v22.0 and above, the "
        "ig_reels_aggregated_all_plays_count metric is no longer supported."
    ),
}
MEDIA_METRICS = {
    "FEED": (
        "views",
        "reach",
        "likes",
        "comments",
        "shares",
        "saved",
        "total_interactions",
        "follows",
        "profile_visits",
        "profile_activity",
    ),
    "REELS": (
        "views",
        "reach",
        "likes",
        "comments",
        "shares",
        "saved",
        "total_interactions",
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
    ),
    "STORY": (
        "views",
        "reach",
        "replies",
        "shares",
        "follows",
        "profile_visits",
        "total_interactions",
        "navigation",
        "profile_activity",
    ),
}
TITLES = {
    "views": ("Views", "The number of times your content was played or displayed."),
    "reach": (
        "Accounts reached",
        "The number of unique accounts that have seen your content, at least once.",
    ),
    "likes": ("Likes", "The number of likes on your content."),
    "comments": ("Comments", "The number of comments on your content."),
    "shares": ("Shares", "The number of shares of your content."),
    "saved": ("Saves", "The number of saves of your content."),
    "saves": ("Saves", "The number of saves of your content."),
    "total_interactions": (
        "Interactions",
        "The total number of interactions on your content.",
    ),
    "follows": ("Follows", "The number of accounts that started following you."),
    "profile_visits": (
        "Profile visits",
        "The number of times your profile was visited.",
    ),
    "profile_activity": (
        "Profile activity",
        "The number of actions people took on your profile.",
    ),
    "ig_reels_avg_watch_time": (
        "Average watch time",
        "The average time your reel was played, in milliseconds.",
    ),
    "ig_reels_video_view_total_time": (
        "Watch time",
        "The total time your reel was played, in milliseconds.",
    ),
    "replies": ("Replies", "The number of replies to your story."),
    "navigation": ("Navigation", "The number of navigation actions on your story."),
    "accounts_engaged": (
        "Accounts engaged",
        "The number of accounts that interacted with your content.",
    ),
    "follower_count": (
        "Follower count",
        "Total number of new followers each day within the specified range",
    ),
    "online_followers": (
        "Online followers",
        "Total number of your followers who were online during the specified range",
    ),
    "profile_views": ("Profile views", "The number of times your profile was visited."),
    "website_clicks": (
        "Website taps",
        "The number of taps on the website link in your profile.",
    ),
    "profile_links_taps": (
        "Profile links taps",
        (
            "The number of taps on your business address, call button, email "
            "button and text button."
        ),
    ),
    "follows_and_unfollows": (
        "Follows and unfollows",
        "The number of accounts that followed or unfollowed you.",
    ),
    "follower_demographics": (
        "Follower demographics",
        "The demographic characteristics of followers.",
    ),
    "engaged_audience_demographics": (
        "Engaged audience demographics",
        "The demographic characteristics of the engaged audience.",
    ),
}
TIME_SERIES = {"reach", "follower_count", "online_followers"}
TOTAL_VALUE = {
    "reach", "views", "accounts_engaged", "total_interactions", "likes", "comments",
    "shares", "saves", "replies", "follows_and_unfollows", "profile_links_taps",
    "profile_views", "website_clicks",
}  # fmt: skip
DEMOGRAPHICS = {"follower_demographics", "engaged_audience_demographics"}
USER_FIELDS = (
    "id", "ig_id", "username", "name", "biography", "profile_picture_url", "website",
    "followers_count", "follows_count", "media_count",
)  # fmt: skip
MEDIA_FIELDS = (
    "id", "caption", "media_type", "media_product_type", "media_url", "permalink",
    "thumbnail_url", "timestamp", "like_count", "comments_count", "username", "owner",
    "shortcode", "is_comment_enabled", "children",
)  # fmt: skip


class Facebook(Service):
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

    # --- errors -------------------------------------------------------------

    def trace(self) -> str:
        return self.sb.tokens.new_value("A", 22)

    def error(
        self,
        code: int,
        message: str,
        status: int = 400,
        subcode: int | None = None,
        type_: str = "OAuthException",
        **extra: Any,
    ) -> Response:
        body: dict[str, Any] = {"message": message, "type": type_, "code": code}
        if subcode is not None:
            body["error_subcode"] = subcode
        body.update(extra)
        body["fbtrace_id"] = self.trace()
        return json_response(
            {"error": body}, status, throttled=code in {4, 17, 32, 613, 80002}
        )

    def not_found(self, request: Request) -> Response:
        return self.error(2500, f"Unknown path components: {request.path}")

    def server_error(self, request: Request, status: int) -> Response:
        return self.error(
            2,
            "An unexpected error has occurred. Please retry your request later.",
            status,
            is_transient=True,
        )

    def throttled(self, request: Request, retry_after: int, in_200: bool) -> Response:
        response = self.error(
            4,
            "(#4) Application request limit reached",
            200 if in_200 else 400,
            is_transient=True,
        )
        response.set_header(
            "X-App-Usage",
            json.dumps({"call_count": 100, "total_cputime": 40, "total_time": 60}),
        )
        return response

    def unsupported(self, object_id: str) -> Response:
        return self.error(
            100,
            "Invalid parameter",
            subcode=33,
            error_data={},
            is_transient=False,
            error_user_msg=(
                f"Unsupported get request. Object with ID '{object_id}' does not "
                "exist, cannot be loaded due to missing permissions, or does not "
                "support this operation."
            ),
        )

    def no_permission(self) -> Response:
        return self.error(
            10, "(#10) Application does not have permission for this action"
        )

    def token_of(self, request: Request) -> str | None:
        if request.endpoint == "facebook.oauth.access_token":
            return request.params().get("fb_exchange_token") or None
        return request.params().get("access_token") or request.bearer()

    # --- OAuth ----------------------------------------------------------------

    def creds(self) -> dict[str, Any]:
        return self.config("credentials", "facebook")

    def dialog(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
        params = request.params()
        if params.get("client_id") != self.creds()["app_id"]:
            return html_response(
                error_page(
                    "Invalid App ID",
                    "The provided app ID does not look like a valid app ID.",
                ),
                400,
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(
            self.config("credentials", "redirect_uris"), redirect_uri
        ):
            return html_response(
                error_page(
                    "URL blocked",
                    "This redirect failed because the redirect URI is not whitelisted.",
                ),
                400,
            )
        scopes = [s for s in params.get("scope", "").replace(" ", ",").split(",") if s]
        state = params.get("state", "")
        accounts = self.sb.world.accounts("instagram")
        if request.method == "GET":
            return html_response(
                consent_page(
                    brand="Facebook",
                    client=params["client_id"],
                    scopes=scopes,
                    query=params,
                    accounts=accounts,
                )
            )
        if request.form.get("decision") != "approve":
            return redirect(
                with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_code": "200",
                        "error_description": "Permissions error",
                        "error_reason": "user_denied",
                        "state": state,
                    },
                )
                + "#_=_"
            )
        account = self.sb.world.account(request.form.get("account", "")) or accounts[0]
        grant = Grant(
            platform="instagram",
            client_id=params["client_id"],
            account_id=account.id,
            scopes=scopes,
            redirect_uri=redirect_uri,
            expires_at=self.now + float(self.config("tokens", "code_ttl")),
        )
        code = self.sb.tokens.add_code(grant, "AQsb")
        return redirect(
            with_query(redirect_uri, {"code": code, "state": state}) + "#_=_"
        )

    def _issue(
        self,
        account_id: str,
        scopes: list[str],
        long_lived: bool,
        family: str | None = None,
    ) -> dict[str, Any]:
        conf = self.config("tokens", "facebook")
        ttl = conf["long_ttl"] if long_lived else conf["short_ttl"]
        token = self.sb.tokens.issue(
            prefix="EAAsb",
            kind="access",
            platform="instagram",
            client_id=self.creds()["app_id"],
            account_id=account_id,
            scopes=scopes,
            family=family,
            expires_at=self.now + ttl,
            long_lived=long_lived,
        )
        return {
            "access_token": token.value,
            "token_type": "bearer",
            "expires_in": int(ttl),
        }

    def issue_for(self, account: Account, scopes: list[str] | None) -> dict[str, Any]:
        chosen = scopes or [
            "instagram_basic",
            "instagram_manage_insights",
            "pages_read_engagement",
            "pages_show_list",
        ]
        return self._issue(account.id, chosen, long_lived=True)

    def access_token(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
        params = request.params()
        if params.get("client_id") != self.creds()["app_id"]:
            return self.error(
                101, "Error validating application. Invalid application ID."
            )
        if params.get("client_secret") != self.creds()["app_secret"]:
            return self.error(1, "Error validating client secret.")
        if params.get("grant_type") == "fb_exchange_token":
            old = self.sb.tokens.get(params.get("fb_exchange_token"))
            if old is None or old.platform != "instagram" or not old.is_valid(self.now):
                return self.error(
                    190, "Invalid OAuth access token - Cannot parse access token"
                )
            return json_response(
                self._issue(old.account_id, old.scopes, True, old.family)
            )
        grant, problem = self.sb.tokens.take_code(params.get("code", ""))
        if grant is None or grant.platform != "instagram":
            return self.error(100, "Invalid verification code format.", subcode=36008)
        if problem:
            return self.error(
                100, "This authorization code has been used.", subcode=36009
            )
        if self.now >= grant.expires_at:
            return self.error(
                100, "This authorization code has expired.", subcode=36007
            )
        if params.get("redirect_uri") != grant.redirect_uri:
            return self.error(
                100,
                "Error validating verification code. Please make sure your "
                "redirect_uri is identical to the one you used in the OAuth dialog "
                "request",
                subcode=36008,
            )
        return json_response(self._issue(grant.account_id, grant.scopes, False))

    # --- auth, limits and usage headers ----------------------------------------

    def _auth(
        self, request: Request, permission: str | None = None
    ) -> tuple[Token | None, Account | None, Response | None]:
        if not request.token:
            return (
                None,
                None,
                self.error(
                    2500,
                    (
                        "An active access token must be used to query information "
                        "about the current user."
                    ),
                ),
            )
        token = self.sb.tokens.get(request.token)
        if token is None or token.platform != "instagram":
            return (
                None,
                None,
                self.error(
                    190, "Invalid OAuth access token - Cannot parse access token"
                ),
            )
        if token.revoked:
            return (
                None,
                None,
                self.error(
                    190,
                    (
                        "Error validating access token: The user has not authorized "
                        "application."
                    ),
                    400,
                    458,
                ),
            )
        if not token.is_valid(self.now):
            when = datetime.fromtimestamp(token.expires_at or 0, PACIFIC).strftime(
                "%A, %d-%b-%y %H:%M:%S %Z"
            )
            return (
                None,
                None,
                self.error(
                    190,
                    f"Error validating access token: Session has expired on {when}.",
                    400,
                    463,
                ),
            )
        proof = request.params().get("appsecret_proof")
        if proof is not None:
            secret = self.creds()["app_secret"].encode()
            wanted = hmac.new(secret, token.value.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(proof, wanted):
                return (
                    None,
                    None,
                    self.error(
                        100, "Invalid appsecret_proof provided in the API argument"
                    ),
                )
        if permission and permission not in token.scopes:
            return None, None, self.no_permission()
        account = self.sb.world.account(token.account_id)
        return token, account, None

    def _limits(
        self, request: Request, token: Token, account: Account
    ) -> tuple[list[tuple[str, str]], Response | None]:
        """Count the call in every bucket; return usage headers or a throttle error."""
        conf = self.config("limits", "graph")
        now = self.now
        window = conf["window_seconds"]
        windows = self.sb.windows
        users = max(
            1,
            len(
                {
                    t.account_id
                    for t in self.sb.tokens.tokens.values()
                    if t.platform == "instagram"
                }
            ),
        )
        app_limit = conf["app_calls_per_user"] * users
        checks: list[tuple[tuple[str, ...], int, int, str]] = [
            (
                ("graph-app", token.client_id),
                app_limit,
                4,
                "(#4) Application request limit reached",
            ),
            (
                ("graph-user", account.id),
                conf["user_calls"],
                17,
                "(#17) User request limit reached",
            ),
        ]
        if request.endpoint == "graph.me.accounts":
            checks.append(
                (
                    ("graph-page", account.id),
                    conf["page_calls"],
                    32,
                    "(#32) Page request limit reached",
                )
            )
        if request.endpoint == "graph.business_discovery":
            checks.append(
                (
                    ("graph-discovery", account.id),
                    conf["discovery_calls"],
                    613,
                    "(#613) Calls to this api have exceeded the rate limit.",
                )
            )
        buc = request.endpoint.startswith(("graph.ig", "graph.media", "graph.business"))
        if buc:
            checks.append(
                (
                    ("graph-buc", account.external_id),
                    conf["buc_calls"],
                    80002,
                    (
                        "(#80002) There have been too many calls to this Instagram "
                        "account. Wait a bit and try again."
                    ),
                )
            )
        failed = None
        for key, limit, code, message in checks:
            if windows.hit(key, now, window, limit):
                failed = (code, message)
                break
        headers = []
        app_pct = min(
            100,
            windows.count(("graph-app", token.client_id), now, window)
            * 100
            // max(app_limit, 1),
        )
        if failed and failed[0] == 4:
            app_pct = 100
        headers.append(
            (
                "X-App-Usage",
                json.dumps(
                    {
                        "call_count": app_pct,
                        "total_cputime": app_pct * 2 // 5,
                        "total_time": app_pct * 3 // 5,
                    }
                ),
            )
        )
        if buc:
            buc_pct = min(
                100,
                windows.count(("graph-buc", account.external_id), now, window)
                * 100
                // max(conf["buc_calls"], 1),
            )
            regain = conf["regain_minutes"] if failed and failed[0] == 80002 else 0
            if failed and failed[0] == 80002:
                buc_pct = 100
            if buc_pct or regain:
                usage = {
                    account.external_id: [
                        {
                            "type": "instagram",
                            "call_count": buc_pct,
                            "total_cputime": buc_pct * 2 // 5,
                            "total_time": buc_pct * 3 // 5,
                            "estimated_time_to_regain_access": regain,
                        }
                    ]
                }
                headers.append(("X-Business-Use-Case-Usage", json.dumps(usage)))
        if failed:
            response = self.error(failed[0], failed[1], 400, is_transient=True)
            response.headers.extend(headers)
            return headers, response
        return headers, None

    def _guard(
        self, request: Request, permission: str | None
    ) -> tuple[Token | None, Account | None, list[tuple[str, str]], Response | None]:
        token, account, error = self._auth(request, permission)
        if error:
            return None, None, [], error
        assert token is not None and account is not None
        headers, error = self._limits(request, token, account)
        return token, account, headers, error

    def _reply(self, data: Any, headers: list[tuple[str, str]]) -> Response:
        return json_response(data, 200, headers)

    def _own_account(self, account: Account, ig_id: str) -> bool:
        return account.external_id == ig_id

    # --- /me ------------------------------------------------------------------

    def me(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/graph-api/reference/user
        _, account, headers, error = self._guard(request, None)
        if error:
            return error
        assert account is not None
        values = {
            "id": account.user_id,
            "name": f"Sandbox Person {account.index}",
            "first_name": "Sandbox",
            "last_name": f"Person {account.index}",
            "short_name": "Sandbox",
            "email": f"{account.handle}@example.com",
            "link": f"https://www.facebook.com/app_scoped_user_id/{account.user_id}/",
            "picture": {
                "data": {
                    "height": 50,
                    "is_silhouette": False,
                    "url": f"https://platform-lookaside.fbsbx.com/sandbox/{account.index}",
                    "width": 50,
                }
            },
        }
        # Fields the person did not share are left out, not refused.
        fields = [f for f in request.query.get("fields", "id,name").split(",") if f]
        data = {"id": account.user_id}
        data.update({f: values[f] for f in fields if f in values})
        return self._reply(data, headers)

    def me_accounts(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/graph-api/reference/user/accounts
        token, account, headers, error = self._guard(request, "pages_show_list")
        if error:
            return error
        assert account is not None
        fields = [
            f
            for f in request.query.get(
                "fields", "access_token,category,name,id,tasks"
            ).split(",")
            if f
        ]
        pages = [
            (
                account.page_id,
                f"Sandbox Page {account.index}",
                {"id": account.external_id},
            ),
            # A page with no Instagram account linked: clients must skip it.
            (
                str(int(account.page_id) + 500),
                f"Sandbox Side Page {account.index}",
                None,
            ),
        ]
        data = []
        for page_id, name, ig in pages:
            entry: dict[str, Any] = {"id": page_id}
            for field in fields:
                if field == "instagram_business_account" and ig:
                    entry[field] = ig
                elif field == "name":
                    entry[field] = name
                elif field == "access_token":
                    entry[field] = "EAAsbPAGE" + str(stable_hash(page_id))
                elif field == "category":
                    entry[field] = "Digital creator"
                elif field == "tasks":
                    entry[field] = [
                        "ANALYZE",
                        "ADVERTISE",
                        "MODERATE",
                        "CREATE_CONTENT",
                        "MANAGE",
                    ]
            data.append(entry)
        cursors = {"before": _cursor(0), "after": _cursor(len(data) - 1)}
        return self._reply({"data": data, "paging": {"cursors": cursors}}, headers)

    # --- IG user, media and stories ------------------------------------------

    def _user_values(self, account: Account, now: float) -> dict[str, Any]:
        visible = account.item_count - self.sb.world.first_visible(account, now)
        return {
            "id": account.external_id,
            "ig_id": int(stable_hash(self.sb.seed, "ig_id", account.id) % 10**10),
            "username": account.handle,
            "name": account.display_name,
            "biography": "Sandbox creator ✨ Reels every week | שלום | مرحبا",
            "profile_picture_url": f"https://scontent.cdninstagram.com/v/t51.2885-19/sandbox_{account.index}_n.jpg",
            "website": f"https://example.com/{account.handle}",
            "followers_count": self.sb.world.followers(account, now),
            "follows_count": 150 + account.index * 3,
            "media_count": visible,
        }

    def ig_user(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user
        _, account, headers, error = self._guard(request, "instagram_basic")
        if error:
            return error
        assert account is not None
        ig_id = request.match["id"]
        if not self._own_account(account, ig_id):
            return self.unsupported(ig_id)
        fields = parse_graph_fields(request.query.get("fields", "id"))
        values = self._user_values(account, self.now)
        data: dict[str, Any] = {}
        for name, modifiers, nested in fields:
            if name == "business_discovery":
                found = self._discovery(modifiers.get("username", ""), nested or "id")
                if isinstance(found, Response):
                    return found
                data[name] = found
            elif name in values:
                data[name] = values[name]
            else:
                return self.error(
                    100,
                    (
                        f"(#100) Tried accessing nonexisting field ({name}) on node "
                        "type (IGUser)"
                    ),
                )
        data.setdefault("id", account.external_id)
        return self._reply(data, headers)

    def _discovery(self, username: str, nested: str) -> dict[str, Any] | Response:
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/business_discovery
        target = next(
            (a for a in self.sb.world.accounts("instagram") if a.handle == username),
            None,
        )
        if target is None:
            return self.error(
                110,
                "(#110) Invalid user id",
                subcode=2207013,
                error_user_title="Cannot find user",
                error_user_msg=f"The user with username: {username} cannot be found.",
            )
        now = self.now
        values = self._user_values(target, now)
        result: dict[str, Any] = {}
        for name, modifiers, sub in parse_graph_fields(nested):
            if name == "media":
                limit = int(modifiers.get("limit", "25"))
                fields = [f for f, _, _ in parse_graph_fields(sub or "id")]
                items = list(self._page_items(target, 0, limit))
                result["media"] = {
                    "data": [
                        self._media_values(item, fields, discovery=True)
                        for item in items
                    ],
                    "paging": {"cursors": {"after": _cursor(len(items))}},
                }
            elif name in values and name != "ig_id":
                result[name] = values[name]
        result.setdefault("id", target.external_id)
        return result

    def _page_items(self, account: Account, offset: int, limit: int) -> list[Item]:
        world = self.sb.world
        first = world.first_visible(account, self.now)
        stop = min(first + offset + limit, account.item_count)
        return [world.item(account, i) for i in range(first + offset, stop)]

    def _media_values(
        self, item: Item, fields: list[str], discovery: bool = False
    ) -> dict[str, Any]:
        now = self.now
        code = base64.urlsafe_b64encode(item.external_id[-9:].encode()).decode()[:11]
        url = (
            f"https://scontent.cdninstagram.com/v/t51.29350-15/{item.external_id}_n.jpg"
        )
        kind = "reel" if item.product_type == "REELS" else "p"
        values: dict[str, Any] = {
            "id": item.external_id,
            "caption": item.caption,
            "media_type": item.media_type,
            "media_product_type": item.product_type,
            "media_url": url.replace(".jpg", ".mp4")
            if item.media_type == "VIDEO"
            else url,
            "permalink": f"https://www.instagram.com/{kind}/{code}/",
            "timestamp": iso_graph(item.posted_at),
            "like_count": item.count("likes", now),
            "comments_count": 0 if item.comments_off else item.count("comments", now),
            "username": item.account.handle,
            "owner": {"id": item.account.external_id},
            "shortcode": code,
            "is_comment_enabled": not item.comments_off,
        }
        if item.media_type == "VIDEO":
            values["thumbnail_url"] = url
        if item.media_type == "CAROUSEL_ALBUM":
            values["children"] = {
                "data": [{"id": f"{item.external_id}{k}"} for k in range(2)]
            }
        if discovery and item.hidden_likes:
            # Hidden like counts are left out when read through another account.
            values.pop("like_count")
        data = {"id": item.external_id}
        data.update({f: values[f] for f in fields if f in values})
        return data

    def user_media(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
        _, account, headers, error = self._guard(request, "instagram_basic")
        if error:
            return error
        assert account is not None
        ig_id = request.match["id"]
        if not self._own_account(account, ig_id):
            return self.unsupported(ig_id)
        fields = [
            f for f, _, _ in parse_graph_fields(request.query.get("fields", "id"))
        ]
        bad = [f for f in fields if f not in MEDIA_FIELDS]
        if bad:
            return self.error(
                100,
                (
                    f"(#100) Tried accessing nonexisting field ({bad[0]}) on node type "
                    "(IGMedia)"
                ),
            )
        try:
            limit = max(1, min(int(request.query.get("limit", "25")), 100))
        except ValueError:
            limit = 25
        offset = 0
        if "after" in request.query:
            parsed = _read_cursor(request.query["after"])
            if parsed is None:
                return self.error(100, "(#100) Invalid after cursor")
            offset = parsed + 1
        elif "before" in request.query:
            parsed = _read_cursor(request.query["before"])
            offset = max((parsed or 0) - limit, 0)
        items = self._page_items(account, offset, limit)
        total = account.item_count - self.sb.world.first_visible(account, self.now)
        paging: dict[str, Any] = {}
        if items:
            paging["cursors"] = {
                "before": _cursor(offset),
                "after": _cursor(offset + len(items) - 1),
            }
            base = self._self_url(request, ig_id + "/media")
            query = {
                k: v for k, v in request.query.items() if k not in {"after", "before"}
            }
            if offset + len(items) < total:
                paging["next"] = (
                    base
                    + "?"
                    + urlencode(
                        {**query, "limit": limit, "after": paging["cursors"]["after"]}
                    )
                )
            if offset > 0:
                paging["previous"] = (
                    base
                    + "?"
                    + urlencode(
                        {**query, "limit": limit, "before": paging["cursors"]["before"]}
                    )
                )
        body: dict[str, Any] = {
            "data": [self._media_values(item, fields) for item in items]
        }
        if paging:
            body["paging"] = paging
        return self._reply(body, headers)

    def _self_url(self, request: Request, path: str) -> str:
        env = request.environ
        host = (
            env.get("HTTP_HOST")
            or f"{env.get('SERVER_NAME', 'localhost')}:{env.get('SERVER_PORT', '80')}"
        )
        scheme = env.get("wsgi.url_scheme", "http")
        version = (
            request.path.split("/")[1] if request.path.startswith("/v") else "v25.0"
        )
        script = env.get("SCRIPT_NAME", "")
        return f"{scheme}://{host}{script}/facebook-graph/{version}/{path}"

    def user_stories(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/stories
        _, account, headers, error = self._guard(request, "instagram_basic")
        if error:
            return error
        assert account is not None
        if not self._own_account(account, request.match["id"]):
            return self.unsupported(request.match["id"])
        fields = [
            f for f, _, _ in parse_graph_fields(request.query.get("fields", "id"))
        ]
        data = [
            self._story_values(account, slot, fields)
            for slot in self.sb.world.stories(account, self.now)
        ]
        return self._reply({"data": data}, headers)

    def _story_id(self, account: Account, slot: int) -> str:
        check = stable_hash(self.sb.seed, "story", account.index, slot) % 10**4
        return f"177{check:04d}{account.index:03d}{slot + 5000000:07d}"

    def _story_from_id(self, story_id: str) -> tuple[Account, int] | None:
        if len(story_id) != 17 or not story_id.startswith("177"):
            return None
        index, slot = int(story_id[7:10]), int(story_id[10:]) - 5000000
        accounts = self.sb.world.accounts("instagram")
        if index >= len(accounts) or self._story_id(accounts[index], slot) != story_id:
            return None
        return accounts[index], slot

    def _story_values(
        self, account: Account, slot: int, fields: list[str]
    ) -> dict[str, Any]:
        story_id = self._story_id(account, slot)
        values = {
            "id": story_id,
            "media_type": "IMAGE" if slot % 2 else "VIDEO",
            "media_product_type": "STORY",
            "media_url": f"https://scontent.cdninstagram.com/v/t51.29350-15/{story_id}_n.jpg",
            "permalink": f"https://instagram.com/stories/{account.handle}/{story_id}",
            "timestamp": iso_graph(self.sb.world.story_posted_at(account, slot)),
            "username": account.handle,
            "owner": {"id": account.external_id},
            "caption": "",
            "like_count": 0,
            "comments_count": 0,
        }
        data = {"id": story_id}
        data.update({f: values[f] for f in fields if f in values})
        return data

    def media(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media
        _, account, headers, error = self._guard(request, "instagram_basic")
        if error:
            return error
        assert account is not None
        media_id = request.match["id"]
        fields = [
            f for f, _, _ in parse_graph_fields(request.query.get("fields", "id"))
        ]
        story = self._story_from_id(media_id)
        if story and story[0].id == account.id:
            return self._reply(self._story_values(account, story[1], fields), headers)
        item = self.sb.world.item_by_external("instagram", media_id)
        if (
            item is None
            or item.account.id != account.id
            or not item.is_visible(self.now)
        ):
            return self.unsupported(media_id)
        return self._reply(self._media_values(item, fields), headers)

    # --- insights ---------------------------------------------------------------

    def _metrics(self, request: Request) -> list[str] | Response:
        metrics = [m for m in request.query.get("metric", "").split(",") if m]
        if not metrics:
            return self.error(100, "(#100) The parameter metric is required")
        for metric in metrics:
            if metric in RETIRED:
                # One retired metric fails the whole call.
                return self.error(100, RETIRED[metric], is_transient=False)
        return metrics

    def _insight(
        self, object_id: str, name: str, period: str, **payload: Any
    ) -> dict[str, Any]:
        title, description = TITLES.get(name, (name, name))
        entry: dict[str, Any] = {"name": name, "period": period}
        entry.update(payload)
        entry.update(
            title=title,
            description=description,
            id=f"{object_id}/insights/{name}/{period}",
        )
        return entry

    def media_insights(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights
        _, account, headers, error = self._guard(request, "instagram_manage_insights")
        if error:
            return error
        assert account is not None
        media_id = request.match["id"]
        metrics = self._metrics(request)
        if isinstance(metrics, Response):
            return metrics
        story = self._story_from_id(media_id)
        if story and story[0].id == account.id:
            return self._story_insights(account, story[1], media_id, metrics, headers)
        item = self.sb.world.item_by_external("instagram", media_id)
        if (
            item is None
            or item.account.id != account.id
            or not item.is_visible(self.now)
        ):
            return self.unsupported(media_id)
        allowed = MEDIA_METRICS["REELS" if item.product_type == "REELS" else "FEED"]
        bad = [m for m in metrics if m not in allowed]
        if bad:
            return self.error(
                100,
                (
                    f"(#100) metric[{metrics.index(bad[0])}] must be one of the "
                    f"following values: {', '.join(allowed)}"
                ),
            )
        if item.posted_at < account.converted_at:
            return self.error(
                100,
                "Invalid parameter",
                subcode=2108006,
                error_data={"blame_field_specs": [[""]]},
                is_transient=False,
                error_user_title="Media posted before business account conversion",
                error_user_msg=(
                    "The media was posted before the most recent time that the "
                    "user's account was converted to a business account from a "
                    "personal account."
                ),
            )
        if self.now - item.posted_at < 3600:
            # Insights lag: no data yet is an empty set, not zeros.
            return self._reply({"data": []}, headers)
        now = self.now
        views = item.views(now)
        values = {
            "views": views,
            "reach": item.count("reach", now),
            "likes": item.count("likes", now),
            "comments": 0 if item.comments_off else item.count("comments", now),
            "shares": item.count("shares", now),
            "saved": item.count("saves", now),
            "follows": item.count("follows", now),
            "profile_visits": item.count("profile_visits", now),
            "profile_activity": item.count("profile_visits", now) // 3,
            "ig_reels_avg_watch_time": int(
                item.duration
                * 1000
                * (0.3 + 0.4 * unit(self.sb.seed, "watch", media_id))
            ),
        }
        values["total_interactions"] = (
            values["likes"] + values["comments"] + values["shares"] + values["saved"]
        )
        values["ig_reels_video_view_total_time"] = (
            values["ig_reels_avg_watch_time"] * views
        )
        data = [
            self._insight(media_id, m, "lifetime", values=[{"value": values[m]}])
            for m in metrics
        ]
        return self._reply({"data": data}, headers)

    def _story_insights(
        self,
        account: Account,
        slot: int,
        story_id: str,
        metrics: list[str],
        headers: list[tuple[str, str]],
    ) -> Response:
        posted = self.sb.world.story_posted_at(account, slot)
        if self.now - posted >= DAY:
            # Story insights exist for 24 hours only.
            return self.unsupported(story_id)
        allowed = MEDIA_METRICS["STORY"]
        bad = [m for m in metrics if m not in allowed]
        if bad:
            return self.error(
                100,
                (
                    f"(#100) metric[{metrics.index(bad[0])}] must be one of the "
                    f"following values: {', '.join(allowed)}"
                ),
            )
        viewers = self.sb.world.story_viewers(account, slot)
        if viewers < 5:
            return self.error(
                10, "(#10) Not enough viewers for the media to show insights"
            )
        growth = min(1.0, (self.now - posted) / (6 * 3600))
        reach = int(viewers * growth)
        values = {
            "views": int(reach * 1.2),
            "reach": reach,
            "replies": reach // 40,
            "shares": reach // 60,
            "follows": reach // 80,
            "profile_visits": reach // 15,
            "navigation": int(reach * 0.9),
            "profile_activity": reach // 20,
        }
        values["total_interactions"] = values["replies"] + values["shares"]
        data = [
            self._insight(story_id, m, "lifetime", values=[{"value": values[m]}])
            for m in metrics
        ]
        return self._reply({"data": data}, headers)

    def user_insights(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/insights
        _, account, headers, error = self._guard(request, "instagram_manage_insights")
        if error:
            return error
        assert account is not None
        ig_id = request.match["id"]
        if not self._own_account(account, ig_id):
            return self.unsupported(ig_id)
        metrics = self._metrics(request)
        if isinstance(metrics, Response):
            return metrics
        q = request.query
        period = q.get("period", "")
        if not period:
            return self.error(100, "(#100) The parameter period is required")
        metric_type = q.get("metric_type", "time_series")
        breakdowns = [b for b in q.get("breakdown", "").split(",") if b]
        data = []
        for metric in metrics:
            if metric in DEMOGRAPHICS:
                entry = self._demographics(account, ig_id, metric, period, breakdowns)
            elif metric_type == "total_value":
                entry = self._total_value(account, ig_id, metric, period, breakdowns)
            else:
                entry = self._series(request, account, ig_id, metric, period)
            if isinstance(entry, Response):
                return entry
            data.append(entry)
        body: dict[str, Any] = {"data": data}
        if not any(m in DEMOGRAPHICS for m in metrics):
            since, until = self._range(request)
            if not isinstance(since, Response):
                base = self._self_url(request, ig_id + "/insights")
                query = {
                    k: v
                    for k, v in q.items()
                    if k not in {"since", "until", "access_token"}
                }
                span = until - since
                body["paging"] = {
                    "previous": base
                    + "?"
                    + urlencode(
                        {**query, "since": int(since - span), "until": int(since)}
                    ),
                    "next": base
                    + "?"
                    + urlencode(
                        {**query, "since": int(until), "until": int(until + span)}
                    ),
                }
        return self._reply(body, headers)

    def _range(self, request: Request) -> tuple[Any, float]:
        now = self.now
        try:
            until = float(request.query.get("until", now))
            since = float(request.query.get("since", until - 2 * DAY))
        except ValueError:
            return self.error(
                100, "(#100) since and until must be Unix timestamps"
            ), 0.0
        if until - since > 30 * DAY:
            return self.error(
                100,
                (
                    "(#100) The since and until parameters must be no more than 30 "
                    "days apart"
                ),
            ), 0.0
        return since, until

    def _series(
        self, request: Request, account: Account, ig_id: str, metric: str, period: str
    ) -> dict[str, Any] | Response:
        if metric not in TIME_SERIES:
            return self.error(
                100,
                "(#100) metric[0] must be one of the following values: "
                + ", ".join(sorted(TIME_SERIES | TOTAL_VALUE | DEMOGRAPHICS)),
            )
        if metric == "online_followers":
            hours = {
                str(h): int(
                    self.sb.world.followers(account, self.now)
                    * (0.05 + 0.1 * unit(self.sb.seed, account.id, h))
                )
                for h in range(24)
            }
            return self._insight(
                ig_id,
                metric,
                "lifetime",
                values=[{"value": hours, "end_time": _pacific_end(self.now)}],
            )
        if period != "day":
            return self.error(
                100, f"(#100) Incompatible period {period} for metric {metric}; use day"
            )
        since, until = self._range(request)
        if isinstance(since, Response):
            return since
        values = []
        day = datetime.fromtimestamp(since, PACIFIC).date()
        last = datetime.fromtimestamp(until, PACIFIC).date()
        while day < last:
            start = datetime(day.year, day.month, day.day, tzinfo=PACIFIC)
            end = (start + timedelta(days=1)).astimezone(UTC)
            world = self.sb.world
            value = world.daily_value(
                account,
                "follows" if metric == "follower_count" else "reach",
                start.timestamp(),
            )
            values.append(
                {"value": value, "end_time": end.strftime("%Y-%m-%dT%H:%M:%S+0000")}
            )
            day += timedelta(days=1)
        return self._insight(ig_id, metric, period, values=values)

    def _total_value(
        self,
        account: Account,
        ig_id: str,
        metric: str,
        period: str,
        breakdowns: list[str],
    ) -> dict[str, Any] | Response:
        if metric not in TOTAL_VALUE:
            return self.error(
                100, f"(#100) metric {metric} does not support metric_type=total_value"
            )
        total = (
            self.sb.world.daily_value(
                account,
                {"accounts_engaged": "reach", "saves": "saves"}.get(metric, metric),
                self.now - DAY,
            )
            * 7
        )
        payload: dict[str, Any] = {"value": total}
        if breakdowns:
            options = {
                "media_product_type": (
                    "POST",
                    "REEL",
                    "STORY",
                    "CAROUSEL_CONTAINER",
                    "AD",
                ),
                "follow_type": ("FOLLOWER", "NON_FOLLOWER"),
                "contact_button_type": (
                    "BOOK_NOW",
                    "CALL",
                    "EMAIL",
                    "TEXT",
                    "UNDEFINED",
                ),
            }
            if any(b not in options for b in breakdowns):
                return self.error(
                    100, f"(#100) breakdown must be one of: {', '.join(options)}"
                )
            combos: list[list[str]] = [[]]
            for b in breakdowns:
                combos = [c + [v] for c in combos for v in options[b]]
            results = [
                {
                    "dimension_values": combo,
                    "value": int(
                        total * unit(self.sb.seed, metric, *combo) / len(combos) * 2
                    ),
                }
                for combo in combos
            ]
            payload["breakdowns"] = [{"dimension_keys": breakdowns, "results": results}]
        return self._insight(ig_id, metric, period, total_value=payload)

    def _demographics(
        self,
        account: Account,
        ig_id: str,
        metric: str,
        period: str,
        breakdowns: list[str],
    ) -> dict[str, Any] | Response:
        if period != "lifetime":
            return self.error(
                100, f"(#100) Incompatible period {period} for {metric}; use lifetime"
            )
        if not breakdowns or any(
            b not in {"age", "gender", "country", "city"} for b in breakdowns
        ):
            return self.error(
                100,
                "(#100) breakdown must be one or more of: age, gender, country, city",
            )
        followers = self.sb.world.followers(account, self.now)
        if followers < 100:
            return self.error(
                10,
                (
                    "(#10) Not enough followers: demographic metrics need at least 100 "
                    "followers"
                ),
            )
        combos: list[tuple[list[str], float]] = [([], 1.0)]
        for b in breakdowns:
            combos = [
                (keys + [v], share * s / 100)
                for keys, share in combos
                for v, s in self.sb.world.distribution(account, b)
            ]
        results = [
            {"dimension_values": keys, "value": int(followers * share)}
            for keys, share in combos[:45]
        ]
        payload = {"breakdowns": [{"dimension_keys": breakdowns, "results": results}]}
        return self._insight(ig_id, metric, period, total_value=payload)

    # --- batch ------------------------------------------------------------------

    def batch(self, request: Request) -> Response:
        # Reference: https://developers.facebook.com/docs/graph-api/batch-requests
        params = request.params()
        try:
            calls = json.loads(params.get("batch", ""))
        except ValueError:
            return self.error(
                100, "(#100) The parameter batch is required and must be a JSON array"
            )
        if not isinstance(calls, list):
            return self.error(
                100, "(#100) The parameter batch is required and must be a JSON array"
            )
        if len(calls) > self.config("limits", "graph")["batch_max"]:
            return self.error(
                100,
                "(#100) Too many requests in batch message. Maximum batch size is 50",
            )
        token = params.get("access_token") or request.bearer() or ""
        replies = []
        for call in calls:
            replies.append(self._batch_call(request, call, token))
        return json_response(replies)

    def _batch_call(
        self, request: Request, call: Any, token: str
    ) -> dict[str, Any] | None:
        if not isinstance(call, dict) or "relative_url" not in call:
            return None
        path, _, query = str(call["relative_url"]).lstrip("/").partition("?")
        if "access_token=" not in query and token:
            query = (
                f"{query}&access_token={token}" if query else f"access_token={token}"
            )
        environ = {
            "REQUEST_METHOD": str(call.get("method", "GET")).upper(),
            "PATH_INFO": "/facebook-graph/" + path,
            "QUERY_STRING": query,
            "wsgi.input": None,
            "CONTENT_LENGTH": "0",
            "HTTP_HOST": request.environ.get("HTTP_HOST", "localhost"),
            "wsgi.url_scheme": request.environ.get("wsgi.url_scheme", "http"),
        }
        try:
            response = self.sb.handle(environ)
        except SandboxDisconnect:
            response = self.server_error(request, 500)
        headers = [{"name": k, "value": v} for k, v in response.headers]
        return {
            "code": response.status,
            "headers": headers,
            "body": response.body.decode("utf-8", "replace"),
        }


def _cursor(position: int) -> str:
    return base64.b64encode(f"sb-cursor:{position}".encode()).decode()


def _read_cursor(cursor: str) -> int | None:
    try:
        prefix, _, number = base64.b64decode(cursor).decode().partition(":")
        return int(number) if prefix == "sb-cursor" else None
    except ValueError:
        return None


def _pacific_end(now: float) -> str:
    local = datetime.fromtimestamp(now, PACIFIC)
    start = datetime(local.year, local.month, local.day, tzinfo=PACIFIC)
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
