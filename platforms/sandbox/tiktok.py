"""TikTok: Login Kit v2, Display API v2 and the API for Business (accounts).

Hosts: www.tiktok.com → /tiktok-www, open.tiktokapis.com → /tiktok-open,
business-api.tiktok.com → /tiktok-business.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .core.consent import consent_page, error_page
from .core.http import Request, Response, html_response, json_response, redirect
from .core.service import Service
from .core.tokens import Grant, Token
from .core.world import DAY, Account, Item, stable_hash, unit
from .oauth_common import pkce_matches, redirect_allowed, with_query

SCOPE_FIELDS = {
    "user.info.basic": (
        "open_id",
        "union_id",
        "avatar_url",
        "avatar_url_100",
        "avatar_large_url",
        "display_name",
    ),
    "user.info.profile": (
        "bio_description",
        "profile_deep_link",
        "is_verified",
        "username",
    ),
    "user.info.stats": (
        "follower_count",
        "following_count",
        "likes_count",
        "video_count",
    ),
}
FIELD_SCOPE = {f: scope for scope, fields in SCOPE_FIELDS.items() for f in fields}
KNOWN_SCOPES = set(SCOPE_FIELDS) | {"video.list"}
VIDEO_FIELDS = (
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
)
BUSINESS_ACCOUNT_FIELDS = (
    "username",
    "display_name",
    "profile_image",
    "is_business_account",
    "followers_count",
    "audience_ages",
    "audience_genders",
    "audience_countries",
    "audience_cities",
)
BUSINESS_DAILY_FIELDS = (
    "video_views",
    "profile_views",
    "likes",
    "comments",
    "shares",
    "daily_new_followers",
    "daily_lost_followers",
    "followers_count",
    "audience_activity",
)
BUSINESS_VIDEO_FIELDS = (
    "item_id",
    "create_time",
    "thumbnail_url",
    "share_url",
    "embed_url",
    "caption",
    "video_duration",
    "reach",
    "video_views",
    "likes",
    "comments",
    "shares",
    "favorites",
    "total_time_watched",
    "average_time_watched",
    "full_video_watched_rate",
    "video_view_retention",
    "impression_sources",
    "audience_countries",
    "audience_types",
)
MESSAGES = {
    "access_token_invalid": "The access token is invalid or not found in the request.",
    "scope_not_authorized": (
        "The user did not authorize the scope required for completing this request."
    ),
    "invalid_params": "The request parameters are invalid.",
    "rate_limit_exceeded": "The API rate limit was exceeded. Please try again later.",
    "internal_error": "Something went wrong. Please try again later.",
}
STATUS = {
    "access_token_invalid": 401,
    "scope_not_authorized": 401,
    "invalid_params": 400,
    "rate_limit_exceeded": 429,
    "internal_error": 500,
}


class TikTok(Service):
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

    # --- envelopes ---------------------------------------------------------

    def log_id(self) -> str:
        stamp = datetime.fromtimestamp(self.now, UTC).strftime("%Y%m%d%H%M%S")
        return f"{stamp}{self.sb.tokens.new_value('', 20).upper()}"

    def envelope(
        self, data: dict[str, Any], code: str = "ok", status: int | None = None
    ) -> Response:
        error = {
            "code": code,
            "message": "" if code == "ok" else MESSAGES[code],
            "log_id": self.log_id(),
        }
        return json_response(
            {"data": data, "error": error},
            status or (200 if code == "ok" else STATUS[code]),
            throttled=code == "rate_limit_exceeded",
        )

    def oauth_error(self, error: str, description: str, status: int = 400) -> Response:
        return json_response(
            {"error": error, "error_description": description, "log_id": self.log_id()},
            status,
        )

    def business(
        self, data: dict[str, Any] | None, code: int = 0, message: str = "OK"
    ) -> Response:
        body = {
            "code": code,
            "message": message,
            "request_id": self.log_id(),
            "data": data or {},
        }
        # Reference: Business API errors arrive with HTTP 200 and a non-zero code.
        return json_response(body, 200, throttled=code == 40100)

    def token_of(self, request: Request) -> str | None:
        if request.endpoint.startswith("tiktok.business"):
            return request.header("access-token") or None
        if request.endpoint in {"tiktok.oauth.token", "tiktok.oauth.revoke"}:
            return (
                request.form.get("refresh_token") or request.form.get("token") or None
            )
        return request.bearer()

    def not_found(self, request: Request) -> Response:
        return self.envelope({}, "invalid_params", 404)

    def server_error(self, request: Request, status: int) -> Response:
        if request.endpoint.startswith("tiktok.business"):
            body = {
                "code": 50000,
                "message": "System error",
                "request_id": self.log_id(),
                "data": {},
            }
            return json_response(body, status)
        return self.envelope({}, "internal_error", status)

    def throttled(self, request: Request, retry_after: int, in_200: bool) -> Response:
        if request.endpoint.startswith("tiktok.business"):
            return self.business(None, 40100, "Too many requests. Please retry later.")
        if request.endpoint.startswith("tiktok.oauth"):
            response = self.oauth_error(
                "rate_limit_exceeded",
                MESSAGES["rate_limit_exceeded"],
                200 if in_200 else 429,
            )
            response.throttled = True
            return response
        return self.envelope({}, "rate_limit_exceeded", 200 if in_200 else 429)

    # --- OAuth ------------------------------------------------------------

    def creds(self) -> dict[str, Any]:
        return self.config("credentials", "tiktok")

    def open_id(self, account: Account, client_key: str) -> str:
        # open_id differs per app (client_key); union_id is per developer.
        tag = stable_hash(self.sb.seed, "open_id", client_key, account.id) % 10**12
        return f"-000{tag:012d}{account.external_id[-6:]}"

    def authorize(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/login-kit-web/
        params = request.params()
        if params.get("client_key") != self.creds()["client_key"]:
            return html_response(
                error_page("Something went wrong", "client_key is invalid."), 400
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_allowed(
            self.config("credentials", "redirect_uris"), redirect_uri
        ):
            return html_response(
                error_page("Something went wrong", "redirect_uri is invalid."), 400
            )
        state = params.get("state", "")
        scopes = [s for s in params.get("scope", "").split(",") if s]
        approved = set(self.creds()["approved_scopes"])
        bad = [s for s in scopes if s not in KNOWN_SCOPES or s not in approved]
        if bad or not scopes or params.get("response_type", "code") != "code":
            return redirect(
                with_query(
                    redirect_uri,
                    {
                        "error": "invalid_scope"
                        if bad or not scopes
                        else "invalid_request",
                        "error_description": (
                            f"Scope(s) not authorized: {','.join(bad)}"
                        ),
                        "state": state,
                    },
                )
            )
        accounts = self.sb.world.accounts("tiktok")
        if request.method == "GET":
            page = consent_page(
                brand="TikTok",
                client=params["client_key"],
                scopes=scopes,
                query=params,
                accounts=accounts,
            )
            return html_response(page)
        if request.form.get("decision") != "approve":
            return redirect(
                with_query(
                    redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": (
                            "The user denied the authorization request."
                        ),
                        "state": state,
                    },
                )
            )
        account = self.sb.world.account(request.form.get("account", "")) or accounts[0]
        grant = Grant(
            platform="tiktok",
            client_id=params["client_key"],
            account_id=account.id,
            scopes=scopes,
            redirect_uri=redirect_uri,
            code_challenge=params.get("code_challenge", ""),
            code_challenge_method=params.get("code_challenge_method", ""),
            expires_at=self.now + float(self.config("tokens", "code_ttl")),
        )
        code = self.sb.tokens.add_code(grant, "sbtt-")
        return redirect(
            with_query(
                redirect_uri, {"code": code, "scopes": ",".join(scopes), "state": state}
            )
        )

    def _issue(
        self,
        account_id: str,
        client_key: str,
        scopes: list[str],
        family: str | None,
        refresh_expires: float | None,
    ) -> dict[str, Any]:
        conf = self.config("tokens", "tiktok")
        now = self.now
        store = self.sb.tokens
        access = store.issue(
            prefix="act.sb",
            kind="access",
            platform="tiktok",
            client_id=client_key,
            account_id=account_id,
            scopes=scopes,
            family=family,
            expires_at=now + conf["access_ttl"],
        )
        refresh_at = (
            refresh_expires
            if refresh_expires is not None
            else now + conf["refresh_ttl"]
        )
        refresh = store.issue(
            prefix="rft.sb",
            kind="refresh",
            platform="tiktok",
            client_id=client_key,
            account_id=account_id,
            scopes=scopes,
            family=access.family,
            expires_at=refresh_at,
        )
        account = self.sb.world.account(account_id)
        assert account is not None
        return {
            "access_token": access.value,
            "expires_in": int(conf["access_ttl"]),
            "open_id": self.open_id(account, client_key),
            "refresh_expires_in": max(int(refresh_at - now), 0),
            "refresh_token": refresh.value,
            "scope": ",".join(scopes),
            "token_type": "Bearer",
        }

    def issue_for(self, account: Account, scopes: list[str] | None) -> dict[str, Any]:
        chosen = scopes or list(self.creds()["approved_scopes"])
        return self._issue(account.id, self.creds()["client_key"], chosen, None, None)

    def token(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/oauth-user-access-token-management
        form = request.form
        creds = self.creds()
        if (
            form.get("client_key") != creds["client_key"]
            or form.get("client_secret") != creds["client_secret"]
        ):
            return self.oauth_error(
                "invalid_client", "Client key or secret is incorrect.", 401
            )
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            return self._refresh(request, form)
        return self.oauth_error(
            "invalid_request", "grant_type is missing or unsupported."
        )

    def _exchange_code(self, form: dict[str, str]) -> Response:
        grant, problem = self.sb.tokens.take_code(form.get("code", ""))
        if grant is None or problem:
            return self.oauth_error(
                "invalid_grant", "Authorization code is expired or was already used."
            )
        if grant.platform != "tiktok" or grant.client_id != form["client_key"]:
            return self.oauth_error(
                "invalid_grant", "Authorization code was issued to another client."
            )
        if self.now >= grant.expires_at:
            return self.oauth_error("invalid_grant", "Authorization code is expired.")
        if form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            return self.oauth_error(
                "invalid_grant",
                "redirect_uri does not match the authorization request.",
            )
        if grant.code_challenge:
            verifier = form.get("code_verifier", "")
            if not verifier:
                return self.oauth_error("invalid_request", "code_verifier is required.")
            if not pkce_matches(
                grant.code_challenge,
                grant.code_challenge_method,
                verifier,
                allow_hex=True,
            ):
                return self.oauth_error(
                    "invalid_grant", "code_verifier does not match the code_challenge."
                )
        return json_response(
            self._issue(grant.account_id, grant.client_id, grant.scopes, None, None)
        )

    def _refresh(self, request: Request, form: dict[str, str]) -> Response:
        store = self.sb.tokens
        with store.lock:
            old = store.get(form.get("refresh_token"))
            if (
                old is None
                or old.kind != "refresh"
                or old.client_id != form["client_key"]
            ):
                return self.oauth_error(
                    "invalid_grant", "Refresh token is invalid or expired."
                )
            if old.rotated and not old.revoked:
                detect = self.config("tokens", "tiktok")[
                    "reuse_detection"
                ] or self.sb.faults.enabled(
                    "refresh_reuse_detection", "tiktok", request.endpoint
                )
                if detect:
                    # A stolen-token signal: every token of the family dies.
                    store.revoke_family(old.family)
                return self.oauth_error(
                    "invalid_grant", "Refresh token is invalid or expired."
                )
            if not old.is_valid(self.now):
                return self.oauth_error(
                    "invalid_grant", "Refresh token is invalid or expired."
                )
            old.rotated = True
            reply = self._issue(
                old.account_id, old.client_id, old.scopes, old.family, old.expires_at
            )
        return json_response(reply)

    def revoke(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/oauth-user-access-token-management
        form = request.form
        creds = self.creds()
        if (
            form.get("client_key") != creds["client_key"]
            or form.get("client_secret") != creds["client_secret"]
        ):
            return self.oauth_error(
                "invalid_client", "Client key or secret is incorrect.", 401
            )
        token = self.sb.tokens.get(form.get("token"))
        if token is None or token.platform != "tiktok":
            return self.oauth_error("invalid_request", "token is invalid.")
        self.sb.tokens.revoke_family(token.family)
        return json_response({})

    # --- Display API --------------------------------------------------------

    def _auth(
        self, request: Request, scope: str | None
    ) -> tuple[Token | None, Response | None]:
        token = self.sb.tokens.get(request.token)
        if (
            token is None
            or token.platform != "tiktok"
            or token.kind != "access"
            or not token.is_valid(self.now)
        ):
            return None, self.envelope({}, "access_token_invalid")
        if scope and scope not in token.scopes:
            return None, self.envelope({}, "scope_not_authorized")
        window = self.config("limits", "tiktok")
        wait = self.sb.windows.hit(
            ("tiktok", request.endpoint, token.client_id),
            self.now,
            window["window_seconds"],
            window["per_endpoint"],
        )
        if wait:
            return None, self.envelope({}, "rate_limit_exceeded")
        return token, None

    def _fields(self, request: Request, allowed: tuple[str, ...]) -> list[str] | None:
        fields = [
            f.strip() for f in request.query.get("fields", "").split(",") if f.strip()
        ]
        if not fields or any(f not in allowed for f in fields):
            return None
        return fields

    def user_info(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
        token, error = self._auth(request, None)
        if error:
            return error
        assert token is not None
        fields = self._fields(request, tuple(FIELD_SCOPE))
        if fields is None:
            return self.envelope({}, "invalid_params")
        if any(FIELD_SCOPE[f] not in token.scopes for f in fields):
            return self.envelope({}, "scope_not_authorized")
        account = self.sb.world.account(token.account_id)
        assert account is not None
        now = self.now
        world = self.sb.world
        seed = self.sb.seed
        avatar = (
            "https://p16-sign.tiktokcdn-us.com/tos-useast5-avt-0068-tx/"
            f"{account.external_id[-8:]}~c5_168x168.jpeg"
        )
        # Computed lazily: most calls ask for two or three fields.
        values: dict[str, Any] = {
            "open_id": lambda: self.open_id(account, token.client_id),
            "union_id": lambda: (
                f"sb-union-{stable_hash(seed, 'union', account.id) % 10**12:012d}"
            ),
            "avatar_url": lambda: avatar,
            "avatar_url_100": lambda: avatar.replace("168x168", "100x100"),
            "avatar_large_url": lambda: avatar.replace("168x168", "1080x1080"),
            "display_name": lambda: account.display_name,
            "bio_description": lambda: "Sandbox creator 🎬 | مرحبا | new videos weekly",
            "profile_deep_link": lambda: (
                f"https://vm.tiktok.com/sandbox{account.index}/"
            ),
            "is_verified": lambda: account.index == 0,
            "username": lambda: account.handle,
            "follower_count": lambda: world.followers(account, now),
            "following_count": lambda: 120 + account.index * 7,
            "likes_count": lambda: int(world.followers(account, now) * 9.5),
            "video_count": lambda: (
                account.item_count - world.first_visible(account, now)
            ),
        }
        return self.envelope({"user": {f: values[f]() for f in fields}})

    def _video(self, item: Item, fields: list[str]) -> dict[str, Any]:
        now = self.now
        vid = item.external_id
        share = f"https://www.tiktok.com/@{item.account.handle}/video/{vid}"
        values = {
            "id": vid,
            "create_time": int(item.posted_at),
            "cover_image_url": f"https://p16-sign.tiktokcdn-us.com/obj/sandbox/{vid}.jpeg",
            "share_url": share,
            "video_description": item.caption,
            "duration": item.duration,
            "height": 1024,
            "width": 576,
            "title": item.title,
            "embed_html": (
                f'<blockquote class="tiktok-embed" cite="{share}" '
                f'data-video-id="{vid}"></blockquote>'
            ),
            "embed_link": f"https://www.tiktok.com/player/v1/{vid}",
            "like_count": item.count("likes", now),
            "comment_count": 0 if item.comments_off else item.count("comments", now),
            "share_count": item.count("shares", now),
            "view_count": item.views(now),
        }
        return {f: values[f] for f in fields}

    def _body(self, request: Request) -> dict[str, Any] | None:
        try:
            body = request.json() if request.body else {}
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def video_list(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-video-list
        token, error = self._auth(request, "video.list")
        if error:
            return error
        assert token is not None
        fields = self._fields(request, VIDEO_FIELDS)
        body = self._body(request)
        if fields is None or body is None:
            return self.envelope({}, "invalid_params")
        max_count = body.get("max_count", 10)
        cursor = body.get("cursor")
        if not isinstance(max_count, int) or not 1 <= max_count <= 20:
            return self.envelope({}, "invalid_params")
        if cursor is not None and not isinstance(cursor, int):
            return self.envelope({}, "invalid_params")
        account = self.sb.world.account(token.account_id)
        assert account is not None
        world = self.sb.world
        now = self.now
        start = world.first_visible(account, now)
        if cursor:
            # The cursor is a creation time in ms: continue strictly before it.
            start = max(start, world.first_before(account, cursor / 1000.0))
            start = _skip_same_second(world, account, start, cursor)
        size = max_count
        short_rate = self.config("world", "short_page_rate")
        if (
            unit(self.sb.seed, "short-page", account.id, start) < short_rate
            and max_count > 1
        ):
            # Real pages are sometimes short even when more items follow.
            size = max(1, max_count - 1 - int(unit(self.sb.seed, "short", start) * 3))
        stop = min(start + size, account.item_count)
        items = [world.item(account, i) for i in range(start, stop)]
        next_cursor = (
            int(items[-1].posted_at) * 1000 if items else (cursor or int(now * 1000))
        )
        return self.envelope(
            {
                "videos": [self._video(item, fields) for item in items],
                "cursor": next_cursor,
                "has_more": stop < account.item_count,
            }
        )

    def video_query(self, request: Request) -> Response:
        # Reference: https://developers.tiktok.com/doc/tiktok-api-v2-video-query
        token, error = self._auth(request, "video.list")
        if error:
            return error
        assert token is not None
        fields = self._fields(request, VIDEO_FIELDS)
        body = self._body(request)
        ids = (
            (body or {}).get("filters", {}).get("video_ids")
            if isinstance((body or {}).get("filters"), dict)
            else None
        )
        if fields is None or not isinstance(ids, list) or not ids or len(ids) > 20:
            return self.envelope({}, "invalid_params")
        videos = []
        for video_id in ids:
            item = self.sb.world.item_by_external("tiktok", str(video_id))
            # Unknown ids and other creators' videos are silently left out.
            if (
                item
                and item.account.id == token.account_id
                and item.is_visible(self.now)
            ):
                videos.append(self._video(item, fields))
        return self.envelope({"videos": videos, "cursor": 0, "has_more": False})

    # --- API for Business ---------------------------------------------------

    def _business_auth(
        self, request: Request
    ) -> tuple[Account | None, Response | None]:
        if not request.token:
            return None, self.business(None, 40104, "Access token is null or empty.")
        token = self.sb.tokens.get(request.token)
        if (
            token is None
            or token.platform != "tiktok"
            or token.kind != "access"
            or not token.is_valid(self.now)
        ):
            return None, self.business(
                None, 40105, "Access token is invalid or has been revoked."
            )
        account = self.sb.world.account(token.account_id)
        assert account is not None
        if request.query.get("business_id") != self.open_id(account, token.client_id):
            return None, self.business(
                None, 40002, "business_id is invalid or does not match the token."
            )
        if not account.business:
            # Sandbox assumption: personal accounts have no Business API access.
            return None, self.business(
                None, 40001, "The account is not a TikTok business account."
            )
        window = self.config("limits", "tiktok_business")
        if self.sb.windows.hit(
            ("tiktok-business", request.endpoint, account.id),
            self.now,
            window["window_seconds"],
            window["per_endpoint"],
        ):
            return None, self.business(
                None, 40100, "Too many requests. Please retry later."
            )
        return account, None

    def _business_fields(
        self, request: Request, allowed: tuple[str, ...]
    ) -> list[str] | None:
        raw = request.query.get("fields")
        if raw is None:
            return list(allowed)
        try:
            fields = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(fields, list) or any(f not in allowed for f in fields):
            return None
        return fields

    def _audience(
        self, account: Account, dimension: str, key: str
    ) -> list[dict[str, Any]]:
        if self.sb.world.followers(account, self.now) < 100:
            return []
        dist = self.sb.world.distribution(account, dimension)
        return [
            {key: value, "percentage": round(share / 100, 4)} for value, share in dist
        ]

    def business_get(self, request: Request) -> Response:
        # Reference: https://business-api.tiktok.com/portal/docs?id=1765447286543361
        account, error = self._business_auth(request)
        if error:
            return error
        assert account is not None
        fields = self._business_fields(
            request, BUSINESS_ACCOUNT_FIELDS + BUSINESS_DAILY_FIELDS
        )
        today = datetime.fromtimestamp(self.now, UTC).date()
        try:
            start = date.fromisoformat(
                request.query.get("start_date", str(today - timedelta(days=7)))
            )
            end = date.fromisoformat(
                request.query.get("end_date", str(today - timedelta(days=1)))
            )
        except ValueError:
            fields = None
            start = end = today
        if fields is None or end < start or (today - start).days > 60:
            return self.business(
                None, 40002, "Invalid parameters: fields, start_date or end_date."
            )
        world = self.sb.world
        now = self.now
        data: dict[str, Any] = {}
        followers = world.followers(account, now)
        top = {
            "username": account.handle,
            "display_name": account.display_name,
            "profile_image": f"https://p16-sign.tiktokcdn-us.com/obj/sandbox/{account.index}.jpeg",
            "is_business_account": True,
            "followers_count": followers,
            "audience_ages": lambda: self._audience(account, "age", "age"),
            "audience_genders": lambda: [
                {
                    "gender": {"F": "Female", "M": "Male", "U": "Other"}[g["gender"]],
                    "percentage": g["percentage"],
                }
                for g in self._audience(account, "gender", "gender")
            ],
            "audience_countries": lambda: self._audience(account, "country", "country"),
            "audience_cities": lambda: self._audience(account, "city", "city_name"),
        }
        for field in fields:
            if field in BUSINESS_ACCOUNT_FIELDS:
                value = top[field]
                data[field] = value() if callable(value) else value
        daily = [f for f in fields if f in BUSINESS_DAILY_FIELDS]
        if daily:
            # Daily numbers lag by about two days.
            last = min(end, (datetime.fromtimestamp(now - 2 * DAY, UTC)).date())
            metrics = []
            day = start
            while day <= last:
                day_start = datetime(
                    day.year, day.month, day.day, tzinfo=UTC
                ).timestamp()
                row: dict[str, Any] = {"date": day.isoformat()}
                for field in daily:
                    row[field] = self._daily(account, field, day_start)
                metrics.append(row)
                day += timedelta(days=1)
            data["metrics"] = metrics
        return self.business(data)

    def _daily(self, account: Account, field: str, day_start: float) -> Any:
        world = self.sb.world
        if field == "followers_count":
            return world.followers(account, day_start + DAY)
        if field == "audience_activity":
            return [
                {
                    "hour": str(hour),
                    "count": int(
                        world.daily_value(account, "views", day_start)
                        * (
                            0.02
                            + 0.04 * unit(self.sb.seed, account.id, hour, day_start)
                        )
                    ),
                }
                for hour in range(24)
            ]
        metric = {
            "video_views": "views",
            "daily_new_followers": "follows",
            "daily_lost_followers": "lost",
        }.get(field, field)
        return world.daily_value(account, metric, day_start)

    def business_video_list(self, request: Request) -> Response:
        # Reference: https://business-api.tiktok.com/portal/docs?id=1765453254046721
        account, error = self._business_auth(request)
        if error:
            return error
        assert account is not None
        fields = self._business_fields(request, BUSINESS_VIDEO_FIELDS)
        try:
            cursor = int(request.query.get("cursor", "0"))
            max_count = int(request.query.get("max_count", "20"))
        except ValueError:
            fields = None
            cursor = max_count = 0
        if fields is None or not 1 <= max_count <= 20 or cursor < 0:
            return self.business(
                None, 40002, "Invalid parameters: fields, cursor or max_count."
            )
        world = self.sb.world
        first = world.first_visible(account, self.now)
        start = first + cursor
        stop = min(start + max_count, account.item_count)
        videos = [
            self._business_video(world.item(account, i), fields)
            for i in range(start, stop)
        ]
        return self.business(
            {
                "videos": videos,
                "cursor": stop - first,
                "has_more": stop < account.item_count,
            }
        )

    def _business_video(self, item: Item, fields: list[str]) -> dict[str, Any]:
        now = self.now
        views = item.views(now)
        seed = self.sb.seed
        average = round(
            item.duration * (0.35 + 0.4 * unit(seed, "avg", item.external_id)), 2
        )
        values = {
            "item_id": item.external_id,
            "create_time": str(int(item.posted_at)),
            "thumbnail_url": f"https://p16-sign.tiktokcdn-us.com/obj/sandbox/{item.external_id}.jpeg",
            "share_url": f"https://www.tiktok.com/@{item.account.handle}/video/{item.external_id}",
            "embed_url": f"https://www.tiktok.com/player/v1/{item.external_id}",
            "caption": item.caption,
            "video_duration": float(item.duration),
            "reach": item.count("reach", now),
            "video_views": views,
            "likes": item.count("likes", now),
            "comments": 0 if item.comments_off else item.count("comments", now),
            "shares": item.count("shares", now),
            "favorites": item.count("saves", now),
            "total_time_watched": round(views * average, 2),
            "average_time_watched": average,
            "full_video_watched_rate": round(
                0.05 + 0.3 * unit(seed, "full", item.external_id), 4
            ),
            "video_view_retention": [
                {
                    "second": str(s),
                    "percentage": round(
                        max(0.0, 1 - s / (item.duration + 1)) ** 1.5, 4
                    ),
                }
                for s in range(0, item.duration + 1, max(1, item.duration // 10))
            ],
            "impression_sources": [
                {"impression_source": source, "percentage": round(share / 100, 4)}
                for source, share in self.sb.world.distribution(
                    item.account, "impression_source"
                )
            ],
            "audience_countries": self._audience(item.account, "country", "country"),
            "audience_types": [
                {"type": "Follower", "percentage": 0.3},
                {"type": "Non-follower", "percentage": 0.7},
            ],
        }
        return {f: values[f] for f in fields}


def _skip_same_second(world: Any, account: Account, start: int, cursor: int) -> int:
    """Items are compared at second precision, as create_time is in seconds."""
    while (
        start < account.item_count
        and int(world.posted_at(account, start)) * 1000 >= cursor
    ):
        start += 1
    return start
