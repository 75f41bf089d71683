"""Graph nodes: /me, pages, IG users, media, stories and business_discovery."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from ..core.fields import parse_graph_fields
from ..core.http import Request, Response
from ..core.world import Account, Item, iso_graph, stable_hash
from .base import GraphBase
from .common import MEDIA_FIELDS, cursor, read_cursor


class GraphObjects(GraphBase):
    """Reads of Graph nodes and edges with field selection and cursors."""

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
        cursors = {"before": cursor(0), "after": cursor(len(data) - 1)}
        return self._reply({"data": data, "paging": {"cursors": cursors}}, headers)

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
                items = [i for i in self._page_items(target, 0, limit) if i.public]
                result["media"] = {
                    "data": [
                        self._media_values(item, fields, discovery=True)
                        for item in items
                    ],
                    "paging": {"cursors": {"after": cursor(len(items))}},
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
            parsed = read_cursor(request.query["after"])
            if parsed is None:
                return self.error(100, "(#100) Invalid after cursor")
            offset = parsed + 1
        elif "before" in request.query:
            parsed = read_cursor(request.query["before"])
            offset = max((parsed or 0) - limit, 0)
        page = self._page_items(account, offset, limit)
        # Deleted or archived media leave the page short (even empty).
        items = [item for item in page if item.public]
        total = account.item_count - self.sb.world.first_visible(account, self.now)
        paging: dict[str, Any] = {}
        if page:
            fault = self.page_fault(request) if "after" in request.query else None
            after = cursor(offset + len(page) - 1)
            if fault == "repeat_cursor":
                after = request.query["after"]
            elif fault == "empty_page":
                items = []
            paging["cursors"] = {"before": cursor(offset), "after": after}
            base = self._self_url(request, ig_id + "/media")
            query = {
                k: v for k, v in request.query.items() if k not in {"after", "before"}
            }
            if offset + len(page) < total or fault:
                paging["next"] = (
                    base + "?" + urlencode({**query, "limit": limit, "after": after})
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
            or not item.public
        ):
            return self.unsupported(media_id)
        return self._reply(self._media_values(item, fields), headers)
