"""YouTube Data API v3: channels, playlistItems, videos and commentThreads."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ..core.fields import apply_selector, parse_google_fields
from ..core.http import Request, Response, json_response
from ..core.tokens import Token
from ..core.world import Account, Item, iso_z, stable_hash
from .base import GoogleBase
from .common import DATA_SCOPES, VIDEO_ID_MESSAGE, google_error, missing_parameter


class DataAPI(GoogleBase):
    """List endpoints with quota, partial responses and ETags."""

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
            # What playlistItems + videos show: the public uploads posted by
            # now (deleted and private ones are left out) and their views.
            public = [
                i for i in world.items(account, now) if not (i.deleted or i.private)
            ]
            stats: dict[str, Any] = {
                "viewCount": str(sum(i.views(now) for i in public))
            }
            if not account.hidden_subscriber_count:
                stats["subscriberCount"] = str(
                    _round_subscribers(world.followers(account, now))
                )
            stats["hiddenSubscriberCount"] = account.hidden_subscriber_count
            stats["videoCount"] = str(len(public))
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
        continues = "pageToken" in request.query and offset < total
        fault = self.page_fault(request) if continues else None
        if fault == "repeat_cursor":
            extra["nextPageToken"] = request.query["pageToken"]
        elif fault == "empty_page":
            items = []
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


def _round_subscribers(count: int) -> int:
    """The API rounds subscriber counts to three significant figures."""
    if count < 1000:
        return count
    digits = len(str(count)) - 3
    return count // 10**digits * 10**digits
