"""TikTok Display API v2: user info, video list and video query."""

from __future__ import annotations

from typing import Any

from ..core.http import Request, Response
from ..core.tokens import Token
from ..core.world import Account, Item, stable_hash, unit
from .base import TikTokBase
from .common import FIELD_SCOPE, VIDEO_FIELDS


class DisplayAPI(TikTokBase):
    """The Display API endpoints, with scopes and the 600/min window."""

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
        # Whether the window counts per app or per user token is unconfirmed.
        owner = token.family if window["per"] == "token" else token.client_id
        wait = self.sb.windows.hit(
            ("tiktok", request.endpoint, owner),
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
        page = [world.item(account, i) for i in range(start, stop)]
        next_cursor = (
            int(page[-1].posted_at) * 1000 if page else (cursor or int(now * 1000))
        )
        has_more = stop < account.item_count
        # Deleted and private videos leave the page short (even empty).
        items = [item for item in page if item.public]
        fault = self.page_fault(request) if cursor and page else None
        if fault == "repeat_cursor":
            next_cursor, has_more = cursor, True
        elif fault == "empty_page":
            items, has_more = [], True
        return self.envelope(
            {
                "videos": [self._video(item, fields) for item in items],
                "cursor": next_cursor,
                "has_more": has_more,
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
                and item.public
            ):
                videos.append(self._video(item, fields))
        return self.envelope({"videos": videos, "cursor": 0, "has_more": False})


def _skip_same_second(world: Any, account: Account, start: int, cursor: int) -> int:
    """Items are compared at second precision, as create_time is in seconds."""
    while (
        start < account.item_count
        and int(world.posted_at(account, start)) * 1000 >= cursor
    ):
        start += 1
    return start
