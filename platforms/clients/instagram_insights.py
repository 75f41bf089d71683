"""Instagram insights: media, story and account metrics, single and batched.

Insights items look like `{"name", "period", "values": [{"value": N}]}` or,
for newer metrics, `{"name", "total_value": {"value": N}}`. A metric that
is not in the reply is reported missing (insights lag up to 48 h, album
children have none), never 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from platforms.clients.instagram_errors import graph_error
from platforms.exceptions import InstagramAPIError, PlatformAPIError, PlatformError
from platforms.metrics import (
    METRIC_MAPPINGS,
    RETIRED_INSTAGRAM_METRICS,
    REVERSE_MAPPINGS,
    MetricResult,
    engagement_rate,
    to_int,
)

if TYPE_CHECKING:
    from platforms.clients.instagram import InstagramClient

MEDIA_METRICS = (
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
)
STORY_METRICS = (
    "reach",
    "replies",
    "navigation",
    "shares",
    "total_interactions",
    "follows",
    "profile_visits",
)
ACCOUNT_METRICS = ("reach", "views", "total_interactions", "accounts_engaged")
BATCH_SIZE = 50  # Graph batch requests: at most 50 operations
NOT_RETURNED = (
    "Instagram returned no value: insights lag up to 48 h, album children "
    "have none, and media older than 2 years has expired"
)
NOT_BUSINESS = (
    "media posted before the account became a business account has no insights"
)
FEW_VIEWERS = "story has fewer than 5 viewers: Instagram withholds its insights"


def few_viewers(error: PlatformError) -> bool:
    """Graph's refusal of a story's insights while it has fewer than 5 viewers."""
    return (
        isinstance(error, InstagramAPIError)
        and error.endpoint == "graph.story.insights"
        and error.code == 10
    )


def platform_names(metrics: Iterable[str]) -> list[str]:
    """Graph metric names for standard or Graph names, each once."""
    mapping = METRIC_MAPPINGS["instagram"]
    return list(dict.fromkeys(mapping.get(name, name) for name in metrics))


def insight_value(item: Mapping[str, Any]) -> Any:
    """The value of one insights item, in either of Graph's two shapes."""
    total = item.get("total_value")
    if isinstance(total, dict) and "value" in total:
        return total["value"]
    values = item.get("values")
    if isinstance(values, list) and values and isinstance(values[-1], dict):
        return values[-1].get("value")
    return None


def _retired_in(error: PlatformError, asked: list[str]) -> list[str]:
    """Which asked-for metrics a code-100 error is about."""
    named = [m for m in asked if m in error.message]
    retired = [m for m in named if m in RETIRED_INSTAGRAM_METRICS]
    return retired or named or [m for m in asked if m in RETIRED_INSTAGRAM_METRICS]


class InsightsMixin:
    """Insights endpoints of `InstagramClient`."""

    def _insights(
        self: InstagramClient,
        endpoint: str,
        object_id: str,
        metrics: list[str],
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """GET insights, dropping retired metrics; return (items, dropped)."""
        asked = [m for m in metrics if m not in self.retired_metrics]
        dropped = {m: "retired by Meta" for m in metrics if m in self.retired_metrics}
        while asked:
            try:
                # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/insights
                body = self.get(
                    endpoint,
                    f"{object_id}/insights",
                    metric=",".join(asked),
                    **(extra or {}),
                )
            except InstagramAPIError as error:
                retired = _retired_in(error, asked) if error.code == 100 else []
                if not retired or error.subcode not in (None, ""):
                    raise
                for name in retired:
                    self.retired_metrics.add(name)
                    dropped[name] = f"retired by Meta (Graph code 100): {error.message}"
                    self.logger.warning("Instagram metric %s is retired; dropped", name)
                asked = [m for m in asked if m not in retired]
                continue
            return items_by_name(self, endpoint, body), dropped
        return {}, dropped

    def _result(
        self: InstagramClient,
        id_key: str,
        object_id: str,
        metrics: list[str],
        items: Mapping[str, Any],
        unavailable: Mapping[str, str],
        source: str,
    ) -> dict[str, Any]:
        reverse = REVERSE_MAPPINGS["instagram"]
        result = MetricResult(platform="instagram", id_key=id_key, item_id=object_id)
        for name in metrics:
            label = reverse.get(name, name)
            if name in unavailable:
                result.missing(label, unavailable[name])
            elif name not in items or insight_value(items[name]) is None:
                result.missing(label, NOT_RETURNED)
            else:
                value = insight_value(items[name])
                if isinstance(value, int | float | str) and not isinstance(value, bool):
                    value = to_int(value, field=name, context={"id": object_id})
                result.put(label, value, source=source)
        counts = {k: v for k, v in result.metrics.items() if isinstance(v, int)}
        rate, reason = engagement_rate("instagram", counts)
        if "total_interactions" in metrics and "reach" in metrics:
            if rate is None:
                result.missing("engagement_rate", reason)
            else:
                result.put("engagement_rate", rate, source="derived")
        return result.as_dict()

    def get_media_insights(
        self: InstagramClient, media_id: str, *, metrics: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Lifetime insights of one post or reel, in the standard format."""
        wanted = platform_names(metrics or MEDIA_METRICS)
        try:
            items, dropped = self._insights("graph.media.insights", media_id, wanted)
        except InstagramAPIError as error:
            if str(error.subcode) != "2108006":
                raise
            items, dropped = {}, dict.fromkeys(wanted, NOT_BUSINESS)
        return self._result(
            "media_id", media_id, wanted, items, dropped, "graph.media.insights"
        )

    def _record_error(self: InstagramClient, error: PlatformError) -> None:
        # Too few viewers is a lasting condition of one story, answered as
        # missing values: the collector writes its row once per story, linked
        # to the story, instead of an unlinked row on every run.
        if not few_viewers(error):
            super()._record_error(error)  # type: ignore[misc]

    def get_story_insights(
        self: InstagramClient, story_id: str, *, metrics: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Insights of a story (available for 24 h, and only with ≥ 5 viewers)."""
        wanted = platform_names(metrics or STORY_METRICS)
        try:
            items, dropped = self._insights("graph.story.insights", story_id, wanted)
        except InstagramAPIError as error:
            if not few_viewers(error):
                raise
            items, dropped = {}, dict.fromkeys(wanted, FEW_VIEWERS)
        return self._result(
            "story_id", story_id, wanted, items, dropped, "graph.story.insights"
        )

    def get_account_insights(
        self: InstagramClient,
        *,
        metrics: Iterable[str] | None = None,
        period: str = "day",
        since: int | None = None,
        until: int | None = None,
    ) -> dict[str, Any]:
        """Account-level totals (`metric_type=total_value`) for a period."""
        wanted = platform_names(metrics or ACCOUNT_METRICS)
        extra: dict[str, Any] = {"period": period, "metric_type": "total_value"}
        extra |= {
            k: v for k, v in (("since", since), ("until", until)) if v is not None
        }
        # Reference: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/insights
        items, dropped = self._insights(
            "graph.ig_user.insights", self.ig_user_id, wanted, extra
        )
        return self._result(
            "user_id", self.ig_user_id, wanted, items, dropped, "graph.ig_user.insights"
        )

    def get_audience_demographics(
        self: InstagramClient,
        *,
        breakdown: str = "age,gender",
        metric: str = "follower_demographics",
    ) -> dict[str, Any]:
        """Follower (or engaged audience) shares by age, gender, country or city.

        The buckets come back normalised to `[{"key": "18-24/F", "value": 10}]`.
        Meta gives none below 100 followers: reported as missing, not as [].
        """
        extra = {
            "period": "lifetime",
            "metric_type": "total_value",
            "breakdown": breakdown,
        }
        items, _ = self._insights(
            "graph.ig_user.insights", self.ig_user_id, [metric], extra
        )
        result = MetricResult(
            platform="instagram", id_key="user_id", item_id=self.ig_user_id
        )
        total = (items.get(metric) or {}).get("total_value") or {}
        buckets = []
        for group in total.get("breakdowns") or []:
            for row in group.get("results") or []:
                key = "/".join(str(v) for v in row.get("dimension_values") or [])
                value = to_int(row.get("value"), field=metric, context={"key": key})
                buckets.append({"key": key, "value": value})
        if buckets:
            result.put("demographics", buckets, source="graph.ig_user.insights")
        else:
            result.missing(
                "demographics",
                "Instagram gives demographics only for accounts with 100+ followers",
            )
        return {**result.as_dict(), "breakdown": breakdown}

    def get_media_insights_batch(
        self: InstagramClient,
        media_ids: Iterable[str],
        *,
        metrics: Iterable[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Insights of many media in Graph batch requests, matched by id.

        Each operation of a batch counts toward the limits as one call, so a
        batch takes one `media_metrics` slot per operation, all at once, and
        holds only as many operations as the shared limiter grants right now
        (at most 50; with the default 500/h the burst is about 7). The rest
        go in the next batch, after a short inline wait if one is needed.

        Returns `{media_id: result}` for every id when all were asked.
        When the limiter has no slot within its inline wait (or Graph
        refuses), raises the platform error, e.g. `InstagramRateLimitError`
        with `retry_after`, carrying `completed` (`{media_id: result}` of
        the ids already done, to store) and `pending` (the ids not yet
        asked, in order, to resume with). No slot is taken for an id that
        was not sent.

        A retired metric fails every operation with code 100: it is dropped,
        recorded, and the batch is sent again with the rest.
        """
        ids = list(dict.fromkeys(media_ids))
        requested = platform_names(metrics or MEDIA_METRICS)
        results: dict[str, dict[str, Any]] = {}
        position = 0
        while position < len(ids):
            chunk = ids[position : position + BATCH_SIZE]
            try:
                done = self._insights_round(chunk, requested)
            except PlatformError as error:
                error.completed = dict(results)
                error.pending = ids[position:]
                raise
            results.update(done)
            position += len(done)
        return results

    def _insights_round(
        self: InstagramClient, chunk: list[str], requested: list[str]
    ) -> dict[str, dict[str, Any]]:
        """One batch for a prefix of `chunk` (as many ids as the limiter grants)."""
        while True:
            asked = [m for m in requested if m not in self.retired_metrics]
            if not asked:
                sent, replies = chunk, [None] * len(chunk)
                break
            query = f"insights?metric={','.join(asked)}"
            sent, replies = self._send_batch(
                "graph.media.insights",
                [f"{self.version}/{mid}/{query}" for mid in chunk],
                chunk,
            )
            if not self._drop_retired(replies, asked):
                break
            chunk = sent  # ask the same media again without the retired metric
        dropped = {
            m: "retired by Meta (Graph code 100)"
            for m in requested
            if m in self.retired_metrics
        }
        # The batch reply is the one positional format Graph has: element i
        # answers operation i. Each body is still checked for its own id.
        return {
            mid: self._batch_item(mid, reply, requested, dropped)
            for mid, reply in zip(sent, replies, strict=True)
        }

    def _send_batch(
        self: InstagramClient,
        endpoint: str,
        relative_urls: list[str],
        ids: list[str],
    ) -> tuple[list[str], list]:
        """POST the first operations the limiter allows; return (ids sent, replies).

        `endpoint` names the limits each operation counts toward (e.g.
        graph.media.insights → media_metrics, graph.ig_user.insights →
        user_profile). The slots for all of them are taken in one atomic
        step, so a refusal takes none and no slot is spent on an operation
        that is not sent.
        """
        # A token refresh, if due, happens before slots are taken.
        self.authenticate()
        granted = self.limiter.acquire_up_to(
            self.bucket_specs(endpoint), len(ids), platform=self.platform
        )
        sent = ids[:granted]
        ops = [
            {"method": "GET", "relative_url": url} for url in relative_urls[:granted]
        ]
        # Reference: https://developers.facebook.com/docs/graph-api/batch-requests
        replies = self.request(
            "graph.batch",
            "POST",
            f"{self.graph_url}/",
            data={"batch": json.dumps(ops), "include_headers": "false"},
        )
        if not isinstance(replies, list) or len(replies) != len(sent):
            raise self.data_error(
                "graph.batch", "batch reply does not match the request"
            )
        return sent, replies

    def _drop_retired(self: InstagramClient, replies: list, asked: list[str]) -> bool:
        """Record and forget retired metrics a batch was refused for."""
        for reply in replies:
            try:
                body = json.loads(reply["body"]) if isinstance(reply, dict) else None
            except (TypeError, ValueError):
                continue
            error = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error, dict) or error.get("code") != 100:
                continue
            if error.get("error_subcode") not in (None, ""):
                continue
            failure = graph_error(self, error, status=400, endpoint="graph.batch")
            retired = _retired_in(failure, asked)
            if retired:
                self._record_error(failure)
                for name in retired:
                    self.retired_metrics.add(name)
                    self.logger.warning("Instagram metric %s is retired; dropped", name)
                return True
        return False

    def _batch_item(
        self: InstagramClient,
        media_id: str,
        reply: Any,
        wanted: list[str],
        dropped: Mapping[str, str],
    ) -> dict[str, Any]:
        if reply is None:  # Graph returns null for operations it did not run
            return self._result(
                "media_id",
                media_id,
                wanted,
                {},
                {**dict.fromkeys(wanted, "batch operation not run"), **dropped},
                "graph.batch",
            )
        if not isinstance(reply, dict) or not isinstance(reply.get("body"), str):
            raise self.data_error("graph.batch", "batch element without a body")
        try:
            body = json.loads(reply["body"])
        except ValueError:
            raise self.data_error(
                "graph.batch", "batch element body is not JSON"
            ) from None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = graph_error(
                self,
                body["error"],
                status=int(reply.get("code") or 400),
                endpoint="graph.batch",
            )
            reason = NOT_BUSINESS if str(error.subcode) == "2108006" else str(error)
            if not isinstance(error, PlatformAPIError) or not error.permanent:
                raise error
            return self._result(
                "media_id",
                media_id,
                wanted,
                {},
                {**dict.fromkeys(wanted, reason), **dropped},
                "graph.batch",
            )
        items = items_by_name(self, "graph.batch", body)
        for item in items.values():
            item_id = str(item.get("id", ""))
            if item_id and not item_id.startswith(f"{media_id}/"):
                raise self.data_error(
                    "graph.batch", "insights of another media", id=item_id
                )
        return self._result("media_id", media_id, wanted, items, dropped, "graph.batch")


def items_by_name(client: InstagramClient, endpoint: str, body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise client.data_error(endpoint, "insights reply without a data list")
    items = {}
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise client.data_error(endpoint, "insights item without a name")
        items[item["name"]] = item
    return items
