from django.urls import path

from dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("accounts/<int:account_id>/", views.account_detail, name="account"),
    path("items/<int:item_id>/", views.item_detail, name="item"),
    path("compare/", views.compare, name="compare"),
    path("preferences/", views.preferences, name="preferences"),
    path("healthz", views.healthz, name="healthz"),
]
