"""Google: OAuth 2.0, userinfo, YouTube Data API v3 and YouTube Analytics v2.

Hosts: accounts.google.com → /google-accounts, oauth2.googleapis.com →
/google-oauth2, openidconnect.googleapis.com → /google-openid,
www.googleapis.com → /google-apis, youtubeanalytics.googleapis.com →
/youtube-analytics.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .core.consent import consent_page, error_page
from .core.fields import apply_selector, parse_google_fields
from .core.http import Request, Response, html_response, json_response, redirect
from .core.service import Service
from .core.tokens import Grant, Token
from .core.world import Account, Item, iso_z, stable_hash
from .oauth_common import pkce_matches, redirect_allowed, with_query
from .youtube_analytics import AnalyticsReport, ReportError

YT = "https://www.googleapis.com/auth/"
KNOWN_SCOPES = {
    "openid",
    "email",
    "profile",
    YT + "userinfo.email",
    YT + "userinfo.profile",
    YT + "youtube",
    YT + "youtube.readonly",
    YT + "yt-analytics.readonly",
    YT + "yt-analytics-monetary.readonly",
}
DATA_SCOPES = {YT + "youtube", YT + "youtube.readonly", YT + "youtube.force-ssl"}
VIDEO_ID_MESSAGE = (
    'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list'
    '#videoId">videoId</a></code> parameter {}.'
)
QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


def google_error(
    status: int,
    message: str,
    reason: str,
    domain: str = "global",
    state: str | None = None,
    **extra: str,
) -> Response:
    error: dict[str, Any] = {"message": message, "domain": domain, "reason": reason}
    error.update(extra)
    body: dict[str, Any] = {"code": status, "message": message, "errors": [error]}
    if state:
        body["status"] = state
    return json_response(
        {"error": body},
        status,
        throttled=reason
        in {"quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded"},
    )


def unauthenticated() -> Response:
    return google_error(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential.",
        "authError",
        state="UNAUTHENTICATED",
        location="Authorization",
        locationType="header",
    )


def insufficient_scopes() -> Response:
    return google_error(
        403,
        "Request had insufficient authentication scopes.",
        "insufficientPermissions",
        state="PERMISSION_DENIED",
    )


def missing_parameter(name: str) -> Response:
    return google_error(
        400,
        f"Required parameter: {name}",
        "missingRequiredParameter",
        domain="youtube.parameter",
        location=name,
        locationType="parameter",
    )


def etag_of(data: Any) -> str:
    """A stable tag of a reply built in a fixed key order (repr is enough)."""
    digest = hashlib.blake2b(repr(data).encode(), digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sb:{offset}".encode()).decode().rstrip("=")


def read_page_token(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        return int(number) if prefix == "sb" and int(number) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def iso_duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return text + (f"{secs}S" if secs or text == "PT" else "")


def thumbnails(video_id: str, sizes: tuple[str, ...]) -> dict[str, Any]:
    dims = {
        "default": ("default", 120, 90),
        "medium": ("mqdefault", 320, 180),
        "high": ("hqdefault", 480, 360),
        "standard": ("sddefault", 640, 480),
        "maxres": ("maxresdefault", 1280, 720),
    }
    return {
        size: {
            "url": f"https://i.ytimg.com/vi/{video_id}/{dims[size][0]}.jpg",
            "width": dims[size][1],
            "height": dims[size][2],
        }
        for size in sizes
    }


class Google(Service):
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
        # Granted scopes per (client_id, account_id), for include_granted_scopes.
        self.granted: dict[tuple[str, str], set[str]] = {}

    # --- replies used by the router and faults -------------------------------

    def not_found(self, request: Request) -> Response:
        return google_error(404, "Not Found", "notFound", state="NOT_FOUND")

    def server_error(self, request: Request, status: int) -> Response:
        if status == 503:
            return google_error(
                503,
                "The service is currently unavailable.",
                "backendError",
                state="UNAVAILABLE",
            )
        return google_error(
            status, "Internal error encountered.", "backendError", state="INTERNAL"
        )

    def throttled(self, request: Request, retry_after: int, in_200: bool) -> Response:
        if in_200:
            response = google_error(
                403,
                "Rate Limit Exceeded",
                "rateLimitExceeded",
                domain="usageLimits",
                state="PERMISSION_DENIED",
            )
            response.status = 200
            return response
        response = google_error(
            429,
            "Resource has been exhausted (e.g. check quota).",
            "rateLimitExceeded",
            state="RESOURCE_EXHAUSTED",
        )
        response.set_header("Retry-After", str(retry_after))
        response.throttled = True
        return response

    def token_of(self, request: Request) -> str | None:
        if request.endpoint == "google.oauth.token":
            return request.form.get("refresh_token") or None
        if request.endpoint == "google.oauth.revoke":
            return request.params().get("token") or None
        return request.bearer() or request.query.get("access_token") or None

    # --- OAuth -----------------------------------------------------------------

    def creds(self) -> dict[str, Any]:
        return self.config("credentials", "google")

    def authorize(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server
        params = request.params()
        client_id = params.get("client_id", "")
        if client_id != self.creds()["client_id"]:
            return html_response(
                error_page(
                    "Error 401: invalid_client", "The OAuth client was not found."
                ),
                401,
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(
            self.config("credentials", "redirect_uris"), redirect_uri
        ):
            return html_response(
                error_page(
                    "Error 400: redirect_uri_mismatch",
                    "redirect_uri is not registered.",
                ),
                400,
            )
        scopes = [s for s in params.get("scope", "").split() if s]
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return html_response(
                error_page(
                    "Error 400: invalid_scope", "Some requested scopes were invalid."
                ),
                400,
            )
        if params.get("response_type", "code") != "code":
            return html_response(
                error_page(
                    "Error 400: unsupported_response_type",
                    "response_type must be code.",
                ),
                400,
            )
        state = params.get("state", "")
        accounts = self.sb.world.accounts("youtube")
        if request.method == "GET":
            page = consent_page(
                brand="Google",
                client=client_id,
                scopes=scopes,
                query=params,
                accounts=accounts,
            )
            return html_response(page)
        if request.form.get("decision") != "approve":
            return redirect(
                with_query(redirect_uri, {"error": "access_denied", "state": state})
            )
        account = self.sb.world.account(request.form.get("account", "")) or accounts[0]
        key = (client_id, account.id)
        previous = self.granted.get(key, set())
        first_grant = key not in self.granted
        granted = set(scopes) | (
            previous if params.get("include_granted_scopes") == "true" else set()
        )
        self.granted[key] = previous | set(scopes)
        offline = params.get("access_type") == "offline" and (
            first_grant or "consent" in params.get("prompt", "").split()
        )
        grant = Grant(
            platform="youtube",
            client_id=client_id,
            account_id=account.id,
            scopes=sorted(granted),
            redirect_uri=redirect_uri,
            code_challenge=params.get("code_challenge", ""),
            code_challenge_method=params.get("code_challenge_method", ""),
            expires_at=self.now + float(self.config("tokens", "code_ttl")),
            offline=offline,
        )
        code = self.sb.tokens.add_code(grant, "4/0Asb")
        return redirect(
            with_query(
                redirect_uri,
                {
                    "state": state,
                    "code": code,
                    "scope": " ".join(grant.scopes),
                    "authuser": "0",
                    "prompt": "consent",
                },
            )
        )

    def _client_ok(self, request: Request) -> bool:
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.header("authorization")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = (
                    base64.b64decode(basic[6:]).decode().partition(":")
                )
            except ValueError:
                return False
        return (
            client_id == self.creds()["client_id"]
            and secret == self.creds()["client_secret"]
        )

    def _issue(
        self, account_id: str, scopes: list[str], offline: bool
    ) -> dict[str, Any]:
        conf = self.config("tokens", "google")
        now = self.now
        access = self.sb.tokens.issue(
            prefix="ya29.sb",
            kind="access",
            platform="youtube",
            client_id=self.creds()["client_id"],
            account_id=account_id,
            scopes=scopes,
            family=None,
            expires_at=now + conf["access_ttl"],
        )
        reply: dict[str, Any] = {
            "access_token": access.value,
            "expires_in": int(conf["access_ttl"]),
        }
        if offline:
            refresh_ttl = conf["refresh_ttl"]
            refresh = self.sb.tokens.issue(
                prefix="1//sb",
                kind="refresh",
                platform="youtube",
                client_id=self.creds()["client_id"],
                account_id=account_id,
                scopes=scopes,
                family=access.family,
                expires_at=None if refresh_ttl is None else now + refresh_ttl,
            )
            reply["refresh_token"] = refresh.value
            if refresh_ttl is not None:
                reply["refresh_token_expires_in"] = int(refresh_ttl)
        reply.update(scope=" ".join(scopes), token_type="Bearer")
        return reply

    def issue_for(self, account: Account, scopes: list[str] | None) -> dict[str, Any]:
        chosen = scopes or [
            YT + "youtube.readonly",
            YT + "yt-analytics.readonly",
            "openid",
            YT + "userinfo.email",
        ]
        self.granted.setdefault((self.creds()["client_id"], account.id), set()).update(
            chosen
        )
        return self._issue(account.id, chosen, offline=True)

    def token(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
        if not self._client_ok(request):
            return json_response(
                {"error": "invalid_client", "error_description": "Unauthorized"}, 401
            )
        form = request.form
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant, problem = self.sb.tokens.take_code(form.get("code", ""))
            if grant is None:
                return _invalid_grant("Malformed auth code.")
            if problem or grant.platform != "youtube" or self.now >= grant.expires_at:
                return _invalid_grant("Bad Request")
            if form.get("redirect_uri") != grant.redirect_uri:
                return json_response(
                    {
                        "error": "redirect_uri_mismatch",
                        "error_description": "Bad Request",
                    },
                    400,
                )
            if grant.code_challenge:
                verifier = form.get("code_verifier", "")
                if not verifier:
                    return _invalid_grant("Missing code verifier.")
                if not pkce_matches(
                    grant.code_challenge,
                    grant.code_challenge_method,
                    verifier,
                    allow_hex=False,
                ):
                    return _invalid_grant("Invalid code verifier.")
            return json_response(
                self._issue(grant.account_id, grant.scopes, grant.offline)
            )
        if grant_type == "refresh_token":
            token = self.sb.tokens.get(form.get("refresh_token"))
            if (
                token is None
                or token.kind != "refresh"
                or token.platform != "youtube"
                or not token.is_valid(self.now)
            ):
                return _invalid_grant("Token has been expired or revoked.")
            # Refresh replies carry no refresh_token: the old one stays valid.
            access = self.sb.tokens.issue(
                prefix="ya29.sb",
                kind="access",
                platform="youtube",
                client_id=token.client_id,
                account_id=token.account_id,
                scopes=token.scopes,
                family=token.family,
                expires_at=self.now + self.config("tokens", "google")["access_ttl"],
            )
            return json_response(
                {
                    "access_token": access.value,
                    "expires_in": int(self.config("tokens", "google")["access_ttl"]),
                    "scope": " ".join(token.scopes),
                    "token_type": "Bearer",
                }
            )
        return json_response(
            {
                "error": "unsupported_grant_type",
                "error_description": "Invalid grant_type: " + str(grant_type),
            },
            400,
        )

    def revoke(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/protocols/oauth2/web-server#tokenrevoke
        token = self.sb.tokens.get(request.params().get("token"))
        if token is None or token.platform != "youtube" or token.revoked:
            return json_response(
                {
                    "error": "invalid_token",
                    "error_description": "Token expired or revoked",
                },
                400,
            )
        self.sb.tokens.revoke_family(token.family)
        self.granted.pop((token.client_id, token.account_id), None)
        return json_response({})

    def _access(self, request: Request) -> Token | None:
        token = self.sb.tokens.get(request.token)
        if (
            token is None
            or token.platform != "youtube"
            or token.kind != "access"
            or not token.is_valid(self.now)
        ):
            return None
        return token

    def _userinfo(self, request: Request) -> tuple[Account | None, Token | None]:
        token = self._access(request)
        if token is None:
            return None, None
        return self.sb.world.account(token.account_id), token

    def userinfo_v3(self, request: Request) -> Response:
        # Reference: https://developers.google.com/identity/openid-connect/openid-connect#obtaininguserprofileinformation
        account, _ = self._userinfo(request)
        if account is None:
            return json_response(
                {
                    "error": "invalid_request",
                    "error_description": "Invalid Credentials",
                },
                401,
            )
        return json_response(
            {
                "sub": self._sub(account),
                "name": account.display_name,
                "given_name": "Sandbox",
                "family_name": f"Creator {account.index}",
                "picture": f"https://lh3.googleusercontent.com/a/sandbox-{account.index}=s96-c",
                "email": f"{account.handle}@example.com",
                "email_verified": True,
                "locale": "en",
            }
        )

    def userinfo_v2(self, request: Request) -> Response:
        account, _ = self._userinfo(request)
        if account is None:
            return unauthenticated()
        return json_response(
            {
                "id": self._sub(account),
                "email": f"{account.handle}@example.com",
                "verified_email": True,
                "name": account.display_name,
                "given_name": "Sandbox",
                "family_name": f"Creator {account.index}",
                "picture": f"https://lh3.googleusercontent.com/a/sandbox-{account.index}=s96-c",
                "locale": "en",
            }
        )

    def _sub(self, account: Account) -> str:
        return str(
            100000000000000000000
            + stable_hash(self.sb.seed, "sub", account.id) % 10**20
        )

    # --- Data API access control and quota ---------------------------------

    def _project(
        self, request: Request, scopes: set[str]
    ) -> tuple[str, Token | None, Response | None]:
        projects = {self.creds()["client_id"]: "sandbox-project"}
        projects.update({key: "sandbox-project" for key in self.creds()["api_keys"]})
        projects.update(self.creds().get("projects", {}))
        key = request.query.get("key")
        token = None
        if request.token:
            token = self._access(request)
            if token is None:
                return "", None, unauthenticated()
            if scopes and not scopes & set(token.scopes):
                return "", None, insufficient_scopes()
            return projects.get(token.client_id, token.client_id), token, None
        if key is not None:
            if key not in self.creds()["api_keys"]:
                body = {
                    "error": {
                        "errors": [
                            {
                                "domain": "usageLimits",
                                "reason": "keyInvalid",
                                "message": "Bad Request",
                            }
                        ],
                        "code": 400,
                        "message": "Bad Request",
                    }
                }
                return "", None, json_response(body, 400)
            return projects.get(key, key), None, None
        return (
            "",
            None,
            google_error(
                403,
                "The request is missing a valid API key.",
                "forbidden",
                state="PERMISSION_DENIED",
            ),
        )

    def _charge(
        self, request: Request, project: str, bucket: str, cost: int, limit: int
    ) -> Response | None:
        conf = self.config("limits", "youtube")
        now = self.now
        if not self.sb.quota.charge(bucket, project, now, cost, limit):
            return google_error(
                403,
                QUOTA_MESSAGE,
                "quotaExceeded",
                domain="youtube.quota",
                state="PERMISSION_DENIED",
            )
        if self.sb.windows.hit(
            ("youtube", bucket, project),
            now,
            conf["rate_window_seconds"],
            conf["rate_per_window"],
        ):
            return google_error(
                403,
                "Rate Limit Exceeded",
                "rateLimitExceeded",
                domain="usageLimits",
                state="PERMISSION_DENIED",
            )
        return None

    def _data_api(
        self, request: Request, needs_token: bool = False
    ) -> tuple[Token | None, Response | None]:
        project, token, error = self._project(request, DATA_SCOPES)
        if error:
            return None, error
        conf = self.config("limits", "youtube")
        cost = conf["costs"].get(request.endpoint, conf["costs"]["default"])
        # Every request costs quota, invalid ones too.
        error = self._charge(
            request, project, "youtube.data", cost, conf["daily_quota"]
        )
        if error:
            return None, error
        if needs_token and token is None:
            return None, google_error(
                401,
                "Login Required.",
                "required",
                state="UNAUTHENTICATED",
                location="Authorization",
                locationType="header",
            )
        if "part" not in request.query:
            return token, missing_parameter("part")
        return token, None

    def _list_reply(
        self,
        request: Request,
        kind: str,
        items: list[dict[str, Any]],
        extra: dict[str, Any],
        per_page: int,
    ) -> Response:
        total = extra.pop("_total", len(items))
        body: dict[str, Any] = {"kind": kind, "etag": ""}
        body.update(extra)
        body["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
        body["items"] = items
        body["etag"] = etag_of(body)
        if "fields" in request.query:
            try:
                body = apply_selector(
                    body, parse_google_fields(request.query["fields"])
                )
            except ValueError:
                return google_error(
                    400,
                    "Invalid field selection " + request.query["fields"],
                    "invalidParameter",
                    location="fields",
                    locationType="parameter",
                )
        etag = f'"{etag_of(body)}"'
        match = request.header("if-none-match").strip()
        if match and match in {etag, etag.strip('"'), "*"}:
            return Response(304, b"", [("ETag", etag)])
        return json_response(
            body, headers=[("ETag", etag), ("Cache-Control", "private")]
        )

    # --- channels, playlistItems, videos -------------------------------------

    def channels(self, request: Request) -> Response:
        # Reference: https://developers.google.com/youtube/v3/docs/channels/list
        mine = request.query.get("mine") == "true"
        token, error = self._data_api(request, needs_token=mine)
        if error:
            return error
        world = self.sb.world
        if mine:
            assert token is not None
            accounts = [world.account(token.account_id)]
        elif "id" in request.query:
            accounts = [
                world.account_by_external("youtube", cid)
                for cid in request.query["id"].split(",")
            ]
        elif "forHandle" in request.query:
            handle = request.query["forHandle"].lstrip("@")
            accounts = [a for a in world.accounts("youtube") if a.handle == handle]
        else:
            return google_error(
                400,
                (
                    "No filter selected. Expected one of: mine, forHandle, id, "
                    "managedByMe, categoryId, forUsername."
                ),
                "missingRequiredParameter",
                domain="youtube.parameter",
            )
        parts = set(request.query["part"].split(","))
        items = [self._channel(a, parts) for a in accounts if a is not None]
        return self._list_reply(request, "youtube#channelListResponse", items, {}, 5)

    def _channel(self, account: Account, parts: set[str]) -> dict[str, Any]:
        now = self.now
        world = self.sb.world
        item: dict[str, Any] = {
            "kind": "youtube#channel",
            "etag": "",
            "id": account.external_id,
        }
        description = f"Sandbox channel {account.index} 🎬 — weekly videos."
        if "snippet" in parts:
            avatar = f"https://yt3.ggpht.com/sandbox-{account.index}"
            item["snippet"] = {
                "title": account.display_name,
                "description": description,
                "customUrl": "@" + account.handle,
                "publishedAt": iso_z(account.created_at),
                "thumbnails": {
                    name: {
                        "url": f"{avatar}=s{size}-c-k-c0x00ffffff-no-rj",
                        "width": size,
                        "height": size,
                    }
                    for name, size in (("default", 88), ("medium", 240), ("high", 800))
                },
                "localized": {
                    "title": account.display_name,
                    "description": description,
                },
                "country": "US",
            }
        if "contentDetails" in parts:
            item["contentDetails"] = {
                "relatedPlaylists": {
                    "likes": "",
                    "uploads": "UU" + account.external_id[2:],
                }
            }
        if "statistics" in parts:
            views = sum(
                i.views(now)
                for i in world.items(account, now)
                if not (i.deleted or i.private)
            )
            if account.index == 0:
                views = max(views, 2**31 + 12345)
            stats: dict[str, Any] = {"viewCount": str(views)}
            if not account.hidden_subscriber_count:
                stats["subscriberCount"] = str(
                    _round_subscribers(world.followers(account, now))
                )
            stats["hiddenSubscriberCount"] = account.hidden_subscriber_count
            stats["videoCount"] = str(
                account.item_count - world.first_visible(account, now) - 2
            )
            item["statistics"] = stats
        if "status" in parts:
            item["status"] = {
                "privacyStatus": "public",
                "isLinked": True,
                "longUploadsStatus": "longUploadsUnspecified",
                "madeForKids": False,
            }
        if "brandingSettings" in parts:
            item["brandingSettings"] = {
                "channel": {
                    "title": account.display_name,
                    "description": description,
                    "keywords": "sandbox creator",
                    "trackingAnalyticsAccountId": f"UA-{account.index:07d}-1",
                    "unsubscribedTrailer": world.item(account, 0).external_id,
                    "country": "US",
                },
                "image": {
                    "bannerExternalUrl": f"https://yt3.ggpht.com/sandbox-banner-{account.index}"
                },
            }
        item["etag"] = etag_of(item)
        return item

    def playlist_items(self, request: Request) -> Response:
        # Reference: https://developers.google.com/youtube/v3/docs/playlistItems/list
        token, error = self._data_api(request)
        if error:
            return error
        playlist = request.query.get("playlistId", "")
        if not playlist:
            return google_error(
                400,
                "No filter selected. Expected one of: playlistId, id",
                "missingRequiredParameter",
                domain="youtube.parameter",
            )
        account = (
            self.sb.world.account_by_external("youtube", "UC" + playlist[2:])
            if playlist.startswith("UU")
            else None
        )
        if account is None:
            return google_error(
                404,
                (
                    "The playlist identified with the request's "
                    "<code>playlistId</code> parameter cannot be found."
                ),
                "playlistNotFound",
                domain="youtube.playlistItem",
                location="playlistId",
                locationType="parameter",
            )
        try:
            per_page = int(request.query.get("maxResults", "5"))
        except ValueError:
            per_page = -1
        if not 0 <= per_page <= 50:
            return google_error(
                400,
                "Invalid value for maxResults: must be between 0 and 50.",
                "invalidParameter",
                location="maxResults",
                locationType="parameter",
            )
        offset = 0
        if "pageToken" in request.query:
            found = read_page_token(request.query["pageToken"])
            if found is None:
                return google_error(
                    400,
                    "The request specifies an invalid page token.",
                    "invalidPageToken",
                    domain="youtube.parameter",
                    location="pageToken",
                    locationType="parameter",
                )
            offset = found
        world = self.sb.world
        now = self.now
        first = world.first_visible(account, now)
        total = account.item_count - first
        parts = set(request.query["part"].split(","))
        stop = min(offset + per_page, total)
        items = [
            self._playlist_item(world.item(account, first + pos), pos, playlist, parts)
            for pos in range(offset, stop)
        ]
        extra: dict[str, Any] = {"_total": total}
        if stop < total:
            extra["nextPageToken"] = page_token(stop)
        if offset > 0:
            extra["prevPageToken"] = page_token(max(offset - per_page, 0))
        return self._list_reply(
            request, "youtube#playlistItemListResponse", items, extra, per_page
        )

    def _playlist_item(
        self, item: Item, position: int, playlist: str, parts: set[str]
    ) -> dict[str, Any]:
        vid = item.external_id
        account = item.account
        entry: dict[str, Any] = {
            "kind": "youtube#playlistItem",
            "etag": "",
            "id": base64.b64encode(f"{playlist}.{vid}".encode()).decode().rstrip("="),
        }
        if "snippet" in parts:
            snippet: dict[str, Any] = {
                "publishedAt": iso_z(item.posted_at),
                "channelId": account.external_id,
                "title": item.title,
                "description": item.caption,
                "thumbnails": thumbnails(
                    vid, ("default", "medium", "high", "standard", "maxres")
                ),
                "channelTitle": account.display_name,
                "playlistId": playlist,
                "position": position,
                "resourceId": {"kind": "youtube#video", "videoId": vid},
                "videoOwnerChannelTitle": account.display_name,
                "videoOwnerChannelId": account.external_id,
            }
            if item.deleted or item.private:
                snippet.update(
                    title="Deleted video" if item.deleted else "Private video",
                    description="This video is unavailable."
                    if item.deleted
                    else "This video is private.",
                    thumbnails={},
                )
                snippet.pop("videoOwnerChannelTitle")
                snippet.pop("videoOwnerChannelId")
            entry["snippet"] = snippet
        if "contentDetails" in parts:
            details = {"videoId": vid}
            if not (item.deleted or item.private):
                details["videoPublishedAt"] = iso_z(item.posted_at)
            entry["contentDetails"] = details
        if "status" in parts:
            entry["status"] = {
                "privacyStatus": "private"
                if item.private
                else ("privacyStatusUnspecified" if item.deleted else "public")
            }
        entry["etag"] = etag_of(entry)
        return entry

    def videos(self, request: Request) -> Response:
        # Reference: https://developers.google.com/youtube/v3/docs/videos/list
        token, error = self._data_api(request)
        if error:
            return error
        if "id" not in request.query:
            return google_error(
                400,
                "No filter selected. Expected one of: id, myRating, chart",
                "missingRequiredParameter",
                domain="youtube.parameter",
            )
        ids = [i for i in request.query["id"].split(",") if i]
        if len(ids) > 50:
            return google_error(
                400,
                "The request specifies an invalid filter parameter.",
                "invalidFilters",
                domain="youtube.parameter",
                location="id",
                locationType="parameter",
            )
        parts = set(request.query["part"].split(","))
        now = self.now
        found = []
        for vid in dict.fromkeys(ids):
            item = self.sb.world.item_by_external("youtube", vid)
            # Deleted and private videos are silently left out.
            if item and item.is_visible(now) and not (item.deleted or item.private):
                found.append(item)
        # The order of the reply is not guaranteed: match by id.
        found.sort(key=lambda i: stable_hash(self.sb.seed, "order", i.external_id))
        items = [self._video(item, parts) for item in found]
        return self._list_reply(
            request, "youtube#videoListResponse", items, {}, len(items)
        )

    def _video(self, item: Item, parts: set[str]) -> dict[str, Any]:
        now = self.now
        vid = item.external_id
        entry: dict[str, Any] = {"kind": "youtube#video", "etag": "", "id": vid}
        if "snippet" in parts:
            entry["snippet"] = {
                "publishedAt": iso_z(item.posted_at),
                "channelId": item.account.external_id,
                "title": item.title,
                "description": item.caption,
                "thumbnails": thumbnails(
                    vid, ("default", "medium", "high", "standard", "maxres")
                ),
                "channelTitle": item.account.display_name,
                "tags": ["sandbox", "creator"],
                "categoryId": "22",
                "liveBroadcastContent": "none",
                "defaultLanguage": "en",
                "localized": {"title": item.title, "description": item.caption},
                "defaultAudioLanguage": "en",
            }
        if "contentDetails" in parts:
            entry["contentDetails"] = {
                "duration": iso_duration(item.duration),
                "dimension": "2d",
                "definition": "hd",
                "caption": "false",
                "licensedContent": False,
                "projection": "rectangular",
            }
        if "status" in parts:
            entry["status"] = {
                "uploadStatus": "processed",
                "privacyStatus": "public",
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                "madeForKids": False,
            }
        if "statistics" in parts:
            stats = {"viewCount": str(item.views(now))}
            if not item.hidden_likes:
                stats["likeCount"] = str(item.count("likes", now))
            stats["favoriteCount"] = "0"
            if not item.comments_off:
                stats["commentCount"] = str(item.count("comments", now))
            entry["statistics"] = stats
        entry["etag"] = etag_of(entry)
        return entry

    def comment_threads(self, request: Request) -> Response:
        # Reference: https://developers.google.com/youtube/v3/docs/commentThreads/list
        token, error = self._data_api(request)
        if error:
            return error
        item = self.sb.world.item_by_external(
            "youtube", request.query.get("videoId", "")
        )
        if item is None or not item.is_visible(self.now):
            return google_error(
                404,
                VIDEO_ID_MESSAGE.format("could not be found"),
                "videoNotFound",
                domain="youtube.commentThread",
                location="videoId",
                locationType="parameter",
            )
        if item.comments_off:
            return google_error(
                403,
                VIDEO_ID_MESSAGE.format("has disabled comments"),
                "commentsDisabled",
                domain="youtube.commentThread",
                location="videoId",
                locationType="parameter",
            )
        return self._list_reply(
            request, "youtube#commentThreadListResponse", [], {}, 20
        )

    # --- Analytics -------------------------------------------------------------

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


def _invalid_grant(description: str) -> Response:
    return json_response(
        {"error": "invalid_grant", "error_description": description}, 400
    )


def _round_subscribers(count: int) -> int:
    """The API rounds subscriber counts to three significant figures."""
    if count < 1000:
        return count
    digits = len(str(count)) - 3
    return count // 10**digits * 10**digits
