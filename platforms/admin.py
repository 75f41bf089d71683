"""Django admin for everything socialmetrics stores.

Two rules shape it: tokens never reach a page (the encrypted fields are
excluded everywhere, only "has token" booleans are shown), and rows that record
what a platform said or did (metric values, API calls, runs) are read-only, so
the admin cannot falsify provenance.
"""

from __future__ import annotations

import json
import time
from typing import Any

from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timeuntil

from platforms.logging import redact_data
from platforms.models import (
    ApiCallLog,
    CollectionRun,
    ConnectedAccount,
    ContentItem,
    Credential,
    DailyMetric,
    Distribution,
    ErrorLog,
    MetricSnapshot,
    QuotaUsage,
    RateLimitBucket,
)
from platforms.monitoring import bucket_usage
from platforms.ratelimit import status_limiter

admin.site.site_header = "socialmetrics administration"
admin.site.site_title = "socialmetrics admin"
admin.site.index_title = "Data, quotas and collection"

TOKEN_FIELDS = ("access_token", "refresh_token")


def _pretty_json(value: Any) -> str:
    """Render JSON for a read-only field, secrets redacted again for safety."""
    text = json.dumps(redact_data(value), indent=2, ensure_ascii=False, default=str)
    return format_html("<pre>{}</pre>", text)


class HttpsUrlsMixin:
    """URLs typed without a scheme are https (Django 6's default, today)."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by collectors: viewable and deletable, never edited."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Accounts and credentials ----------------------------------------------


class CredentialInline(admin.StackedInline):
    """Token metadata on the account page; the tokens themselves never."""

    model = Credential
    fields = (
        "has_access_token",
        "has_refresh_token",
        "token_type",
        "access_expires_at",
        "refresh_expires_at",
        "scopes",
        "last_refreshed_at",
    )
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description="Has access token")
    def has_access_token(self, obj: Credential) -> bool:
        return bool(obj.access_token)

    @admin.display(boolean=True, description="Has refresh token")
    def has_refresh_token(self, obj: Credential) -> bool:
        return bool(obj.refresh_token)


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(HttpsUrlsMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "platform",
        "owner",
        "account_type",
        "status",
        "last_collected_at",
        "next_collection_at",
    )
    list_filter = ("platform", "status", "account_type")
    search_fields = (
        "handle",
        "display_name",
        "platform_user_id",
        "union_id",
        "page_id",
        "owner__email",
        "owner__username",
    )
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "social_account")
    readonly_fields = ("updated_at",)
    date_hierarchy = "connected_at"
    inlines = (CredentialInline,)
    fieldsets = (
        (None, {"fields": ("owner", "platform", "social_account")}),
        (
            "Identity on the platform",
            {
                "fields": (
                    "platform_user_id",
                    "union_id",
                    "page_id",
                    "handle",
                    "display_name",
                    "avatar_url",
                    "account_type",
                )
            },
        ),
        ("Status", {"fields": ("status", "status_reason", "paused_until")}),
        (
            "Collection",
            {
                "fields": (
                    "connected_at",
                    "last_collected_at",
                    "next_collection_at",
                    "updated_at",
                )
            },
        ),
    )


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Credentials come from OAuth only; the admin shows metadata, not tokens."""

    exclude = TOKEN_FIELDS
    list_display = (
        "account",
        "has_access_token",
        "has_refresh_token",
        "access_expires_at",
        "refresh_expires_at",
        "last_refreshed_at",
    )
    list_filter = ("account__platform",)
    search_fields = ("account__handle", "account__platform_user_id")
    list_select_related = ("account",)
    fields = (
        "account",
        "has_access_token",
        "has_refresh_token",
        "token_type",
        "access_expires_at",
        "refresh_expires_at",
        "scopes",
        "last_refreshed_at",
        "updated_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(boolean=True, description="Has access token")
    def has_access_token(self, obj: Credential) -> bool:
        return bool(obj.access_token)

    @admin.display(boolean=True, description="Has refresh token")
    def has_refresh_token(self, obj: Credential) -> bool:
        return bool(obj.refresh_token)


# --- Content and metric values ---------------------------------------------


@admin.register(ContentItem)
class ContentItemAdmin(HttpsUrlsMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "account",
        "kind",
        "published_at",
        "availability",
        "last_seen_at",
    )
    list_filter = ("account__platform", "kind", "availability")
    search_fields = ("title", "platform_item_id", "account__handle")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    readonly_fields = ("first_seen_at", "last_seen_at")
    date_hierarchy = "published_at"


class MetricValueAdmin(ReadOnlyAdmin):
    list_display = (
        "metric",
        "shown_value",
        "account",
        "item",
        "fetched_at",
        "source",
        "estimated",
        "missing_reason",
    )
    list_filter = ("account__platform", "estimated", "source")
    search_fields = ("metric", "account__handle", "item__platform_item_id")
    list_select_related = ("account", "item")
    raw_id_fields = ("account", "item")
    show_full_result_count = False  # COUNT(*) on a big table is slow

    @admin.display(description="Value", ordering="value_int")
    def shown_value(self, obj: MetricSnapshot | DailyMetric) -> str:
        if obj.value is None:
            return "missing"
        return f"{obj.value:,}"


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(MetricValueAdmin):
    date_hierarchy = "fetched_at"


@admin.register(DailyMetric)
class DailyMetricAdmin(MetricValueAdmin):
    list_display = ("day", *MetricValueAdmin.list_display)
    date_hierarchy = "day"


@admin.register(Distribution)
class DistributionAdmin(ReadOnlyAdmin):
    list_display = ("kind", "day", "account", "item", "source", "estimated")
    list_filter = ("kind", "account__platform", "estimated")
    search_fields = ("account__handle", "item__platform_item_id", "source")
    list_select_related = ("account", "item")
    date_hierarchy = "day"
    readonly_fields = ("shown_data",)
    exclude = ("data",)

    @admin.display(description="Data")
    def shown_data(self, obj: Distribution) -> str:
        return _pretty_json(obj.data)


# --- Limits, quotas and the API call log -----------------------------------


@admin.register(QuotaUsage)
class QuotaUsageAdmin(admin.ModelAdmin):
    list_display = (
        "day",
        "platform",
        "project",
        "used_of_limit",
        "percent",
        "resets_at",
        "resets_in",
        "exhausted_until",
    )
    list_filter = ("platform", "project")
    search_fields = ("project",)
    date_hierarchy = "day"
    readonly_fields = ("percent", "resets_in", "updated_at")

    @admin.display(description="Used / limit", ordering="units_used")
    def used_of_limit(self, obj: QuotaUsage) -> str:
        return f"{obj.units_used:,} / {obj.limit:,}"

    @admin.display(description="Used")
    def percent(self, obj: QuotaUsage) -> str:
        if obj.limit is None:  # an unsaved add form
            return "-"
        return f"{obj.percent_used:.1f} %"

    @admin.display(description="Resets in")
    def resets_in(self, obj: QuotaUsage) -> str:
        if obj.resets_at is None:
            return "-"
        if obj.resets_at <= timezone.now():
            return "reset"
        return timeuntil(obj.resets_at)


class BlockedNowFilter(admin.SimpleListFilter):
    title = "blocked now"
    parameter_name = "blocked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list:
        return [("yes", "Blocked"), ("no", "Not blocked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        blocked = models.Q(blocked_until__gt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(blocked)
        if self.value() == "no":
            return queryset.exclude(blocked)
        return queryset


@admin.register(RateLimitBucket)
class RateLimitBucketAdmin(admin.ModelAdmin):
    list_display = (
        "key",
        "platform",
        "endpoint_class",
        "account",
        "usage",
        "percent",
        "blocked_until",
        "blocked_reason",
        "reported_at",
    )
    list_filter = ("platform", "endpoint_class", BlockedNowFilter)
    search_fields = ("key", "endpoint_class", "account__handle")
    list_select_related = ("account",)
    raw_id_fields = ("account",)
    # The GCRA state is only ever moved by the limiter's atomic UPDATE.
    readonly_fields = (
        "usage",
        "percent",
        "tat",
        "reported_usage",
        "reported_at",
        "updated_at",
    )
    actions = ("clear_block",)

    @staticmethod
    def _usage(obj: RateLimitBucket) -> tuple[int, float]:
        # With Redis the slots live there, not in the row: read them once
        # per row (both columns share the row's object).
        if not hasattr(obj, "_live_read"):
            live = status_limiter().live_tats([obj.key])
            obj.tat = live.get(obj.key, obj.tat)
            obj._live_read = True
        return bucket_usage(obj, time.time())

    @admin.display(description="Used now / limit")
    def usage(self, obj: RateLimitBucket) -> str:
        if obj.limit is None or obj.window_seconds is None:
            return "-"
        used, _ = self._usage(obj)
        return f"{used} / {obj.limit} per {obj.window_seconds} s"

    @admin.display(description="Used")
    def percent(self, obj: RateLimitBucket) -> str:
        if obj.limit is None or obj.window_seconds is None:
            return "-"
        _, percent = self._usage(obj)
        return f"{percent:.1f} %"

    @admin.action(description="Clear the block (allow requests again)")
    def clear_block(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(blocked_until=None, blocked_reason="")
        self.message_user(request, f"Cleared the block on {count} bucket(s).")


@admin.register(ApiCallLog)
class ApiCallLogAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "platform",
        "method",
        "endpoint",
        "status_code",
        "error_code",
        "latency_ms",
        "quota_cost",
        "project",
        "account",
    )
    list_filter = ("platform", "method", "status_code", "project")
    search_fields = ("endpoint", "error_code", "account__handle")
    list_select_related = ("account",)
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ErrorLog)
class ErrorLogAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "platform",
        "error_class",
        "code",
        "reason",
        "short_message",
        "account",
        "resolved",
    )
    list_filter = ("resolved", "platform", "error_class")
    search_fields = ("message", "code", "reason", "request_id", "endpoint")
    list_select_related = ("account",)
    date_hierarchy = "created_at"
    actions = ("mark_resolved", "mark_unresolved")
    exclude = ("context",)
    readonly_fields = (
        "platform",
        "error_class",
        "endpoint",
        "status_code",
        "code",
        "reason",
        "subcode",
        "message",
        "account",
        "item",
        "request_id",
        "shown_context",
        "created_at",
        "resolved_at",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Message")
    def short_message(self, obj: ErrorLog) -> str:
        return obj.message if len(obj.message) <= 80 else f"{obj.message[:79]}…"

    @admin.display(description="Context")
    def shown_context(self, obj: ErrorLog) -> str:
        return _pretty_json(obj.context)

    def save_model(self, request: HttpRequest, obj: ErrorLog, form: Any, change: bool):
        if obj.resolved and obj.resolved_at is None:
            obj.resolved_at = timezone.now()
        elif not obj.resolved:
            obj.resolved_at = None
        super().save_model(request, obj, form, change)

    @admin.action(description="Mark selected errors as resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(resolved=False).update(
            resolved=True, resolved_at=timezone.now()
        )
        self.message_user(request, f"Marked {count} error(s) as resolved.")

    @admin.action(description="Mark selected errors as unresolved")
    def mark_unresolved(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(resolved=True).update(resolved=False, resolved_at=None)
        self.message_user(request, f"Reopened {count} error(s).", messages.WARNING)


# --- Collection runs -------------------------------------------------------


@admin.register(CollectionRun)
class CollectionRunAdmin(ReadOnlyAdmin):
    list_display = (
        "account",
        "kind",
        "status",
        "progress",
        "queued_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    )
    list_filter = ("status", "kind", "account__platform")
    search_fields = ("account__handle", "task_id", "error_summary")
    list_select_related = ("account",)
    date_hierarchy = "queued_at"
    readonly_fields = ("shown_counts",)
    exclude = ("counts",)

    @admin.display(description="Progress")
    def progress(self, obj: CollectionRun) -> str:
        if obj.progress_total is None:
            return f"{obj.progress_done} / ?"
        return f"{obj.progress_done} / {obj.progress_total} ({obj.percent_done} %)"

    @admin.display(description="Counts")
    def shown_counts(self, obj: CollectionRun) -> str:
        return _pretty_json(obj.counts)


# allauth's own token and app admins would show and accept secrets in clear
# text. Nothing lives there here: OAuth tokens are in the encrypted
# Credential store (SOCIALACCOUNT_STORE_TOKENS is off) and provider apps
# come from settings, so those pages could only leak a secret or add one
# that the product never reads.
for _allauth_model in (SocialToken, SocialApp):
    if admin.site.is_registered(_allauth_model):
        admin.site.unregister(_allauth_model)
