"""What socialmetrics stores: accounts, their content, metric values and the
bookkeeping that keeps collection inside each platform's limits.

Values the platform did not give are never stored as 0: a metric row either
holds a number or holds NULL with a `missing_reason`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from platforms.fields import EncryptedTextField


class Platform(models.TextChoices):
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"
    INSTAGRAM = "instagram", "Instagram"


class ConnectedAccount(models.Model):
    """One creator's account on one platform, connected through OAuth."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RECONNECT_NEEDED = "reconnect_needed", "Reconnect needed"
        PAUSED = "paused", "Paused"
        DISCONNECTED = "disconnected", "Disconnected"

    class AccountType(models.TextChoices):
        PERSONAL = "personal", "Personal"
        BUSINESS = "business", "Business"
        CREATOR = "creator", "Creator"
        UNKNOWN = "", "Unknown"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="connected_accounts",
    )
    platform = models.CharField(max_length=16, choices=Platform.choices)
    social_account = models.ForeignKey(
        "socialaccount.SocialAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="connected_accounts",
        help_text="The allauth login this account was connected through.",
    )
    # TikTok open_id, YouTube channel id, Instagram business user id.
    platform_user_id = models.CharField(max_length=128)
    # TikTok union_id: the same person across one developer's apps.
    union_id = models.CharField(max_length=128, blank=True)
    # Instagram: the Facebook Page the business account is linked to.
    page_id = models.CharField(max_length=64, blank=True)
    handle = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    avatar_url = models.URLField(max_length=2000, blank=True)
    account_type = models.CharField(
        max_length=16, choices=AccountType.choices, blank=True, default=""
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.TextField(blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(default=timezone.now)
    last_collected_at = models.DateTimeField(null=True, blank=True)
    next_collection_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "platform", "platform_user_id"],
                name="account_unique_per_owner",
            ),
        ]
        indexes = [
            # The planner's query: which active accounts are due now.
            models.Index(fields=["status", "next_collection_at"]),
            models.Index(fields=["platform", "platform_user_id"]),
        ]
        ordering = ["platform", "handle"]

    def __str__(self) -> str:
        name = self.handle or self.display_name or self.platform_user_id
        return f"{self.get_platform_display()}: {name}"


class Credential(models.Model):
    """OAuth tokens of one account, encrypted at rest with MultiFernet."""

    account = models.OneToOneField(
        ConnectedAccount, on_delete=models.CASCADE, related_name="credential"
    )
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_type = models.CharField(max_length=32, blank=True, default="Bearer")
    # NULL means the platform did not say; never guess a lifetime.
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    # A short lease on refreshing: the worker whose `refresh_lease` is set
    # refreshes until `refreshing_until`; others wait and re-read.
    refreshing_until = models.DateTimeField(null=True, blank=True)
    refresh_lease = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Credential for {self.account}"

    def access_expired(self, *, leeway_seconds: int = 0) -> bool:
        if self.access_expires_at is None:
            return False
        remaining = (self.access_expires_at - timezone.now()).total_seconds()
        return remaining <= leeway_seconds


class ContentItem(models.Model):
    """A video, short, reel, post or story of a connected account."""

    class Kind(models.TextChoices):
        VIDEO = "video", "Video"
        SHORT = "short", "Short"
        REEL = "reel", "Reel"
        FEED_POST = "feed_post", "Feed post"
        CAROUSEL = "carousel", "Carousel"
        STORY = "story", "Story"

    class Availability(models.TextChoices):
        AVAILABLE = "available", "Available"
        PRIVATE = "private", "Private"
        DELETED = "deleted", "Deleted"
        UNAVAILABLE = "unavailable", "Unavailable"

    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.CASCADE, related_name="items"
    )
    platform_item_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # TextField: captions reach 5,000+ characters and are never truncated.
    title = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    thumbnail_url = models.URLField(max_length=2000, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    availability = models.CharField(
        max_length=16, choices=Availability.choices, default=Availability.AVAILABLE
    )
    availability_since = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "platform_item_id"], name="item_unique_per_account"
            ),
        ]
        indexes = [models.Index(fields=["account", "-published_at"])]
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.label[:60]

    @property
    def label(self) -> str:
        """What pages call the item: its title, or when it has none (Graph
        gives stories no caption) its kind and publish time."""
        if self.title:
            return self.title
        if self.published_at:
            published = self.published_at.astimezone(dt.UTC)
            return f"{self.get_kind_display()} of {published:%Y-%m-%d %H:%M} UTC"
        return self.platform_item_id


class MetricValueBase(models.Model):
    """Shared columns of counters and daily values.

    Exactly one of `value_int` (64-bit) and `value_float` holds the number; both
    NULL means the platform did not give it, and `missing_reason` says why.
    """

    account = models.ForeignKey(ConnectedAccount, on_delete=models.CASCADE)
    item = models.ForeignKey(
        ContentItem, on_delete=models.CASCADE, null=True, blank=True
    )
    metric = models.CharField(max_length=64)
    value_int = models.BigIntegerField(null=True, blank=True)
    value_float = models.FloatField(null=True, blank=True)
    missing_reason = models.CharField(max_length=255, blank=True)
    source = models.CharField(
        max_length=128, help_text="Platform endpoint the value came from."
    )
    fetched_at = models.DateTimeField()
    estimated = models.BooleanField(default=False)

    class Meta:
        abstract = True

    @property
    def value(self) -> int | float | None:
        return self.value_int if self.value_int is not None else self.value_float


def _value_check(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(value_int__isnull=True) | Q(value_float__isnull=True),
        name=name,
    )


#: Account-level counters that sum the account's items' latest readings,
#: stored by `storage.item_totals_upsert` at the end of each collection run
#: under their own names (an account's own `view_count` is the platform's
#: figure). Account charts then read one row per run instead of every
#: item's readings.
ITEM_TOTAL_METRICS = {
    metric: f"items.{metric}"
    for metric in ("view_count", "like_count", "comment_count", "share_count")
}


class MetricSnapshot(MetricValueBase):
    """A point-in-time counter (views so far, followers now) at `fetched_at`."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "metric", "fetched_at"],
                condition=Q(item__isnull=True),
                name="snapshot_unique_account_level",
            ),
            models.UniqueConstraint(
                fields=["item", "metric", "fetched_at"],
                condition=Q(item__isnull=False),
                name="snapshot_unique_item_level",
            ),
            _value_check("snapshot_one_value_column"),
        ]
        indexes = [
            models.Index(fields=["account", "metric", "fetched_at"]),
            models.Index(fields=["item", "metric", "fetched_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.metric}={self.value} @ {self.fetched_at:%Y-%m-%d %H:%M}"


class DailyMetric(MetricValueBase):
    """A per-day value for the platform's calendar `day` (views on that day)."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "metric", "day"],
                condition=Q(item__isnull=True),
                name="daily_unique_account_level",
            ),
            models.UniqueConstraint(
                fields=["item", "metric", "day"],
                condition=Q(item__isnull=False),
                name="daily_unique_item_level",
            ),
            _value_check("daily_one_value_column"),
        ]
        indexes = [
            models.Index(fields=["account", "metric", "day"]),
            models.Index(fields=["item", "metric", "day"]),
        ]

    def __str__(self) -> str:
        return f"{self.metric}={self.value} on {self.day}"


class Distribution(models.Model):
    """A breakdown: demographics, a retention curve, traffic sources.

    `data` keeps the platform's buckets normalised to a list of
    `{"key": ..., "value": ...}` so charts need no per-platform code.
    """

    class Kind(models.TextChoices):
        AGE_GENDER = "age_gender", "Age and gender"
        COUNTRY = "country", "Country"
        CITY = "city", "City"
        RETENTION = "retention", "Audience retention"
        TRAFFIC_SOURCE = "traffic_source", "Traffic / impression sources"
        ACTIVITY = "activity", "Audience activity by hour"

    account = models.ForeignKey(ConnectedAccount, on_delete=models.CASCADE)
    item = models.ForeignKey(
        ContentItem, on_delete=models.CASCADE, null=True, blank=True
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    # The day the distribution describes (or was fetched, for lifetime ones).
    day = models.DateField()
    data = models.JSONField(default=list)
    source = models.CharField(max_length=128)
    fetched_at = models.DateTimeField()
    estimated = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "day"],
                condition=Q(item__isnull=True),
                name="distribution_unique_account_level",
            ),
            models.UniqueConstraint(
                fields=["item", "kind", "day"],
                condition=Q(item__isnull=False),
                name="distribution_unique_item_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.day}"


class QuotaUsage(models.Model):
    """Units spent of a platform project's daily quota (one row per day).

    `day` is the quota day in the platform's reset time zone: midnight
    America/Los_Angeles for YouTube, so it follows DST.
    """

    platform = models.CharField(max_length=16, choices=Platform.choices)
    project = models.CharField(
        max_length=128, help_text="The API project / app the quota belongs to."
    )
    day = models.DateField()
    units_used = models.PositiveBigIntegerField(default=0)
    limit = models.PositiveBigIntegerField()
    exhausted_until = models.DateTimeField(null=True, blank=True)
    resets_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "project", "day"], name="quota_unique_per_day"
            ),
        ]
        ordering = ["-day", "platform"]
        verbose_name_plural = "quota usage"

    def __str__(self) -> str:
        return (
            f"{self.platform} {self.project} {self.day}: {self.units_used}/{self.limit}"
        )

    @property
    def percent_used(self) -> float:
        return round(100 * self.units_used / self.limit, 1) if self.limit else 100.0


class RateLimitBucket(models.Model):
    """One shared rate-limit window, e.g. TikTok video/list 600 per minute.

    Uses GCRA: `tat` (theoretical arrival time, Unix seconds) moves forward by
    window/limit per request, and a request is allowed while `tat` is less than
    a full window ahead of now. Check-and-take is one conditional UPDATE, so
    every worker on every host shares the budget without races.
    """

    key = models.CharField(max_length=255, unique=True)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    endpoint_class = models.CharField(max_length=64)
    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.CASCADE, null=True, blank=True
    )
    limit = models.PositiveIntegerField()
    window_seconds = models.PositiveIntegerField()
    tat = models.FloatField(default=0.0)
    blocked_until = models.DateTimeField(null=True, blank=True)
    blocked_reason = models.CharField(max_length=255, blank=True)
    # What the platform itself reports (Graph X-App-Usage and friends).
    reported_usage = models.JSONField(default=dict, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["platform", "endpoint_class"]

    def __str__(self) -> str:
        return f"{self.key} ({self.limit}/{self.window_seconds}s)"

    def used_now(self, now_ts: float) -> float:
        """Requests counted in the current window, from the GCRA state."""
        if self.limit == 0:
            return 0.0
        interval = self.window_seconds / self.limit
        return max(0.0, (self.tat - now_ts) / interval)


class ApiCallLog(models.Model):
    """One request to a platform, for the API health pages and audits."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    endpoint = models.CharField(max_length=128)
    method = models.CharField(max_length=8)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    quota_cost = models.PositiveIntegerField(default=0)
    project = models.CharField(
        max_length=128,
        blank=True,
        help_text="The quota project charged (YouTube); blank where none is.",
    )
    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["platform", "endpoint", "created_at"]),
            # The staff quota page: one project's charged calls of today.
            models.Index(
                fields=["platform", "project", "created_at"],
                condition=models.Q(quota_cost__gt=0),
                name="apicall_quota_by_project",
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} {self.platform}:{self.endpoint} → {self.status_code}"


class ErrorLog(models.Model):
    """A failure while talking to a platform, kept until someone resolves it."""

    class ErrorClass(models.TextChoices):
        AUTH = "auth", "Authentication"
        RATE_LIMIT = "rate_limit", "Rate limit"
        API = "api", "API"
        QUOTA = "quota", "Quota"
        DATA = "data", "Data"

    platform = models.CharField(max_length=16, choices=Platform.choices)
    error_class = models.CharField(max_length=16, choices=ErrorClass.choices)
    endpoint = models.CharField(max_length=128, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    code = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=128, blank=True)
    subcode = models.CharField(max_length=64, blank=True)
    message = models.TextField()
    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.SET_NULL, null=True, blank=True
    )
    item = models.ForeignKey(
        ContentItem, on_delete=models.SET_NULL, null=True, blank=True
    )
    request_id = models.CharField(max_length=128, blank=True)
    # Already redacted when written; see platforms.logging.redact().
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    resolved = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["resolved", "platform", "created_at"]),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.platform} {self.error_class}: {self.message[:80]}"


class CollectionRun(models.Model):
    """One collection job for one account, with its progress."""

    class Kind(models.TextChoices):
        BACKFILL = "backfill", "Backfill"
        SCHEDULED = "scheduled", "Scheduled"
        MANUAL = "manual", "Manual"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    account = models.ForeignKey(
        ConnectedAccount, on_delete=models.CASCADE, related_name="runs"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    # The fence: set on every claim; a worker writes only while it matches.
    lease = models.CharField(max_length=32, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    # A queued run is not started before this (throttled: after retry_after).
    run_after = models.DateTimeField(null=True, blank=True)
    # When its task was last handed to the broker (the reaper re-sends lost ones).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # Times the run went back to the queue because it was throttled.
    throttles = models.PositiveIntegerField(default=0)
    # Where a re-queued run continues: phase, cursor, running totals.
    checkpoint = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # items_seen, values_written, requests, errors, ...
    counts = models.JSONField(default=dict, blank=True)
    error_summary = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Runs for one account never overlap.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_run_per_account",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]
        ordering = ["-queued_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} run of {self.account} ({self.status})"

    @property
    def percent_done(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))
