from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Pages without a declared icon (the admin's) make browsers ask for
    # /favicon.ico; resolved per request, since the manifest names the file.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
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
