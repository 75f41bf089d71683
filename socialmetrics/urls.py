from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # allauth's own list of social logins would disconnect the login but not
    # the accounts collected through it: the Connections page does both.
    path(
        "accounts/3rdparty/",
        RedirectView.as_view(pattern_name="dashboard:connections"),
    ),
    path("accounts/", include("allauth.urls")),
    path("", include("dashboard.urls")),
]
