"""Creator pages. Views stay thin: resolve the request, call dashboard.pages."""

from __future__ import annotations

import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import pages
from dashboard.forms import DateRange, RangeForm
from dashboard.models import CreatorProfile
from platforms import selectors


def _zone(request: HttpRequest) -> zoneinfo.ZoneInfo:
    profile = CreatorProfile.objects.filter(user=request.user).first()
    return profile.zone if profile else zoneinfo.ZoneInfo("UTC")


def _range(request: HttpRequest, tz: zoneinfo.ZoneInfo) -> tuple[RangeForm, DateRange]:
    # Defaults first, so the form shows what the charts use.
    form = RangeForm({"range": "28d", "granularity": "day", **request.GET.dict()})
    return form, form.date_range(timezone.now().astimezone(tz).date(), tz)


def _render_or_csv(
    request: HttpRequest, template: str, context: dict, filename: str
) -> HttpResponse:
    wanted = request.GET.get("csv")
    if wanted:
        for chart in context.get("charts", []):
            if chart.id == wanted:
                response = HttpResponse(
                    pages.chart_csv(chart), content_type="text/csv; charset=utf-8"
                )
                response["Content-Disposition"] = (
                    f'attachment; filename="{filename}-{chart.id}.csv"'
                )
                return response
        return HttpResponse("No such chart.", status=404, content_type="text/plain")
    return render(request, template, context)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    tz = _zone(request)
    form, rng = _range(request, tz)
    accounts = list(selectors.accounts_for_user(request.user))
    context = {
        "form": form,
        "range": rng,
        "accounts": accounts,
        "tz": tz,
    }
    if accounts:
        context |= pages.overview_page(accounts=accounts, rng=rng, tz=tz)
    return _render_or_csv(request, "dashboard/overview.html", context, "overview")


@login_required
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.account_get_for_user(user=request.user, account_id=account_id)
    tz = _zone(request)
    form, rng = _range(request, tz)
    context = {
        "form": form,
        "range": rng,
        "account": account,
        "tz": tz,
    }
    context |= pages.account_page(
        account=account,
        rng=rng,
        tz=tz,
        sort=request.GET.get("sort", "views"),
        page=request.GET.get("page", 1),
    )
    return _render_or_csv(
        request, "dashboard/account.html", context, f"account-{account.pk}"
    )


@login_required
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    item = selectors.item_get_for_user(user=request.user, item_id=item_id)
    tz = _zone(request)
    form, rng = _range(request, tz)
    context = {
        "form": form,
        "range": rng,
        "item": item,
        "account": item.account,
        "tz": tz,
    }
    context |= pages.item_page(item=item, rng=rng, tz=tz)
    return _render_or_csv(request, "dashboard/item.html", context, f"item-{item.pk}")


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    tz = _zone(request)
    form, rng = _range(request, tz)
    accounts = list(selectors.accounts_for_user(request.user))
    context = {
        "form": form,
        "range": rng,
        "accounts": accounts,
        "tz": tz,
    }
    if accounts:
        context |= pages.compare_page(accounts=accounts, rng=rng, tz=tz)
    return _render_or_csv(request, "dashboard/compare.html", context, "compare")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    profile, _ = CreatorProfile.objects.get_or_create(user=request.user)
    error = ""
    if request.method == "POST":
        value = request.POST.get("time_zone", "").strip()
        if value in zoneinfo.available_timezones():
            profile.time_zone = value
            profile.save(update_fields=["time_zone"])
            messages.success(request, f"Time zone set to {value}.")
            return redirect("dashboard:preferences")
        error = f"“{value}” is not a known time zone, e.g. Europe/Berlin."
    return render(
        request,
        "dashboard/preferences.html",
        {
            "profile": profile,
            "zones": sorted(zoneinfo.available_timezones()),
            "error": error,
        },
        status=400 if error else 200,
    )


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
