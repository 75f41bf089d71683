from django.urls import path

from dashboard import connections, staff_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("accounts/<int:account_id>/", views.account_detail, name="account"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("compare/", views.compare, name="compare"),
    path("preferences/", views.preferences, name="preferences"),
    path("staff/quota/", staff_views.quota, name="staff-quota"),
    path("staff/rate-limits/", staff_views.rate_limits, name="staff-rate-limits"),
    path("staff/errors/", staff_views.errors, name="staff-errors"),
    path("staff/errors/<int:error_id>/", staff_views.error_detail, name="staff-error"),
    path(
        "staff/errors/<int:error_id>/resolve/",
        staff_views.error_resolve,
        name="staff-error-resolve",
    ),
    path("staff/api-health/", staff_views.api_health, name="staff-api-health"),
    path("staff/api-explorer/", staff_views.api_explorer, name="staff-api-explorer"),
    path("healthz", views.healthz, name="healthz"),
    path("connections/", connections.connections, name="connections"),
    path("connections/runs/", connections.connection_runs, name="connection_runs"),
    path(
        "connections/<int:account_id>/disconnect/",
        connections.disconnect,
        name="connection_disconnect",
    ),
]
