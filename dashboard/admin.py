"""Django admin for the dashboard's own data: each creator's preferences."""

from __future__ import annotations

from django.contrib import admin

from dashboard.models import CreatorProfile


@admin.register(CreatorProfile)
class CreatorProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "email", "time_zone")
    list_filter = ("time_zone",)
    search_fields = ("user__username", "user__email", "time_zone")
    list_select_related = ("user",)
    # A user picker, not a dropdown of every account on the instance.
    raw_id_fields = ("user",)
    ordering = ("user__username",)

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj: CreatorProfile) -> str:
        return obj.user.email
