"""Instagram insights: media, stories and account (day series, totals, demographics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from ..core.http import Request, Response
from ..core.world import DAY, Account, unit
from .common import (
    DEMOGRAPHICS,
    MEDIA_METRICS,
    PACIFIC,
    RETIRED,
    TIME_SERIES,
    TITLES,
    TOTAL_VALUE,
    pacific_end,
)
from .objects import GraphObjects


class GraphInsights(GraphObjects):
    """Media and account insights, with retired metrics refused."""

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
            or not item.public
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
                values=[{"value": hours, "end_time": pacific_end(self.now)}],
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
