"""TikTok API for Business (accounts): business/get and business/video/list."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..core.http import Request, Response
from ..core.world import DAY, Account, Item, unit
from .base import TikTokBase
from .common import (
    BUSINESS_ACCOUNT_FIELDS,
    BUSINESS_DAILY_FIELDS,
    BUSINESS_VIDEO_FIELDS,
)


class BusinessAPI(TikTokBase):
    """Organic insights of business accounts; errors come as HTTP 200."""

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
            self._business_video(item, fields)
            for item in (world.item(account, i) for i in range(start, stop))
            if item.public
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
