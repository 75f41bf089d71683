"""Staff pages: quota, rate limits, error log and API health."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from dashboard import charts
from platforms import explorer, monitoring
from platforms.models import ConnectedAccount, ErrorLog, Platform
from platforms.selectors import Provenance

HEALTH_WINDOWS = {"1h": 1, "24h": 24, "7d": 24 * 7}


CALL_LOG = "API call log (platforms_apicalllog)"
QUOTA_LEDGER = "quota ledger (platforms_quotausage)"


HOUR = dt.timedelta(hours=1)
HOUR_MS = HOUR.total_seconds() * 1000


def _cover_an_hour(figure: go.Figure, hours: list[dt.datetime]) -> None:
    """Give an hourly time axis at least an hour of range.

    With one hour bucket (or several within the hour) Plotly autoranges to a
    millisecond around the point and labels ticks like 05:59:59.999; half an
    hour either side of the buckets reads as clock times instead.
    """
    if not hours or max(hours) - min(hours) >= HOUR:
        return
    figure.update_xaxes(
        range=[
            charts.axis_label(min(hours) - HOUR / 2),
            charts.axis_label(max(hours) + HOUR / 2),
        ]
    )


def _burn_down_html(status: monitoring.QuotaStatus, index: int) -> str:
    figure = go.Figure(layout=charts._layout("Units used today", "units"))
    figure.add_trace(
        go.Scatter(
            x=[charts.axis_label(at) for at, _ in status.burn],
            y=[units for _, units in status.burn],
            name="used",
            mode="lines+markers",
            hovertemplate=f"%{{y:,}} units<extra>{CALL_LOG}</extra>",
        )
    )
    pace = status.pace_at_reset
    if pace is not None and status.now is not None:
        figure.add_trace(
            go.Scatter(
                x=[charts.axis_label(status.now), charts.axis_label(status.resets_at)],
                y=[status.row.units_used, pace],
                name="at this pace",
                mode="lines",
                line={"dash": "dot"},
                hovertemplate="%{y:,} units at this pace<extra>forecast</extra>",
            )
        )
    figure.add_hline(
        y=status.row.limit, line_dash="dash", annotation_text="daily limit"
    )
    if status.day_start is not None:
        # The whole quota day, reset to reset: where the day stands and how
        # much of it is left read off the axis.
        figure.update_xaxes(
            range=[
                charts.axis_label(status.day_start),
                charts.axis_label(status.resets_at),
            ]
        )
    return charts.to_html(figure, div_id=f"chart-quota-{index}")


def _quota_provenance(status: monitoring.QuotaStatus) -> Provenance:
    """The burn-down is summed from the call log; used and limit are the ledger's."""
    return Provenance(
        sources=(CALL_LOG, QUOTA_LEDGER),
        first_fetched=status.first_call_at,
        last_fetched=status.row.updated_at,
        derived="units per hour summed from quota_cost of this project's calls;"
        " the limit line and units used are its ledger row",
    )


@staff_member_required
def quota(request: HttpRequest) -> HttpResponse:
    statuses = monitoring.quota_today()
    return render(
        request,
        "dashboard/staff/quota.html",
        {
            "statuses": [
                (status, _burn_down_html(status, index), _quota_provenance(status))
                for index, status in enumerate(statuses)
            ],
            "history": monitoring.quota_history(),
        },
    )


@staff_member_required
def rate_limits(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/staff/rate_limits.html",
        {
            "buckets": monitoring.rate_limit_status(),
            # The demo scales limits to its fast clock; say which are not
            # the platforms' own.
            "overrides": [
                f"{platform}.{endpoint_class}={rate}"
                for platform, classes in sorted(settings.PLATFORM_RATE_LIMITS.items())
                for endpoint_class, rate in sorted(classes.items())
            ],
        },
    )


@staff_member_required
def errors(request: HttpRequest) -> HttpResponse:
    params = request.GET
    days = params.get("days", "7")
    since = timezone.now() - dt.timedelta(days=int(days)) if days.isdigit() else None
    account = params.get("account", "")
    rows = monitoring.errors_filtered(
        platform=params.get("platform", ""),
        error_class=params.get("class", ""),
        account_id=int(account) if account.isdigit() else None,
        code=params.get("code", "").strip(),
        since=since,
        resolved={"open": False, "resolved": True}.get(params.get("state", "open")),
    )
    page = Paginator(rows, 50).get_page(params.get("page", 1))
    return render(
        request,
        "dashboard/staff/errors.html",
        {
            "page": page,
            "platforms": Platform.choices,
            "classes": ErrorLog.ErrorClass.choices,
            "filters": params,
        },
    )


@staff_member_required
def error_detail(request: HttpRequest, error_id: int) -> HttpResponse:
    error = get_object_or_404(
        ErrorLog.objects.select_related("account", "item"), pk=error_id
    )
    return render(request, "dashboard/staff/error_detail.html", {"error": error})


@staff_member_required
@require_POST
def error_resolve(request: HttpRequest, error_id: int) -> HttpResponse:
    updated = ErrorLog.objects.filter(pk=error_id, resolved=False).update(
        resolved=True, resolved_at=timezone.now()
    )
    if updated:
        messages.success(request, "Marked as resolved.")
    return redirect("dashboard:staff-error", error_id=error_id)


def _health_charts(over_time: list[monitoring.HealthBucket]) -> list[tuple]:
    """Requests, error rate and p50/p95 latency per platform per hour."""
    if not over_time:
        return []
    platforms = sorted({row.platform for row in over_time})
    requests = go.Figure(layout=charts._layout("Requests per hour", "requests"))
    errors = go.Figure(
        layout=charts._layout("Error rate per hour", "error rate", percent=True)
    )
    latency = go.Figure(layout=charts._layout("Latency per hour", "ms"))
    bar_width = 0.8 * HOUR_MS / len(platforms)
    for index, platform in enumerate(platforms):
        rows = [row for row in over_time if row.platform == platform]
        xs = [charts.axis_label(row.hour) for row in rows]
        color = charts.PALETTE[index % len(charts.PALETTE)]
        extra = f"<extra>%{{fullData.name}} · {CALL_LOG}</extra>"
        requests.add_trace(
            go.Bar(
                x=xs,
                y=[row.requests for row in rows],
                name=platform,
                # Plotly sizes bars by the gap between positions, which one
                # hour bucket does not have; each platform gets its share of
                # 80 % of the hour (milliseconds on a date axis).
                width=bar_width,
                offset=-0.4 * HOUR_MS + index * bar_width,
                marker_color=color,
                hovertemplate="%{y} requests" + extra,
            )
        )
        errors.add_trace(
            go.Scatter(
                x=xs,
                y=[round(row.error_rate, 4) for row in rows],
                name=platform,
                mode="lines+markers",
                line={"color": color},
                hovertemplate="%{y:.1%} errors" + extra,
            )
        )
        for percentile, dash in (("p50", "solid"), ("p95", "dash")):
            latency.add_trace(
                go.Scatter(
                    x=xs,
                    # An hour without timed calls is a gap, not 0 ms.
                    y=[getattr(row, f"{percentile}_ms") for row in rows],
                    name=f"{platform} {percentile}",
                    mode="lines+markers",
                    connectgaps=False,
                    line={"color": color, "dash": dash},
                    hovertemplate="%{y} ms" + extra,
                )
            )
    for figure in (requests, errors, latency):
        _cover_an_hour(figure, [row.hour for row in over_time])
    return [
        ("health-requests", "Requests per hour", requests),
        ("health-errors", "Error rate per hour", errors),
        ("health-latency", "Latency per hour (p50 solid, p95 dashed)", latency),
    ]


@staff_member_required
def api_health(request: HttpRequest) -> HttpResponse:
    window = request.GET.get("window", "24h")
    hours = HEALTH_WINDOWS.get(window, 24)
    since = timezone.now() - dt.timedelta(hours=hours)
    endpoint = request.GET.get("endpoint", "")
    over_time = monitoring.api_health_over_time(since=since, endpoint=endpoint)
    provenance = Provenance(
        sources=(CALL_LOG,),
        first_fetched=min((row.first_at for row in over_time), default=None),
        last_fetched=max((row.last_at for row in over_time), default=None),
        derived="counted per platform and hour; nearest-rank percentiles of "
        "latency_ms computed by the database",
    )
    return render(
        request,
        "dashboard/staff/api_health.html",
        {
            "window": window,
            "windows": HEALTH_WINDOWS,
            "endpoint": endpoint,
            "health": monitoring.api_health(since=since),
            "charts": [
                (chart_id, title, charts.to_html(figure, div_id=f"chart-{chart_id}"))
                for chart_id, title, figure in _health_charts(over_time)
            ],
            "provenance": provenance,
        },
    )


@staff_member_required
@require_http_methods(["GET", "POST"])
def api_explorer(request: HttpRequest) -> HttpResponse:
    """Send one allowed read request for a connected account (limits apply)."""
    accounts = ConnectedAccount.objects.exclude(
        status=ConnectedAccount.Status.DISCONNECTED
    ).select_related("owner")
    result, error, chosen = None, "", {}
    if request.method == "POST":
        chosen = {
            "account": request.POST.get("account", ""),
            "endpoint": request.POST.get("endpoint", ""),
        }
        account = (
            accounts.filter(pk=chosen["account"]).first()
            if chosen["account"].isdigit()
            else None
        )
        endpoint = explorer.ENDPOINTS.get(chosen["endpoint"])
        if account is None or endpoint is None:
            error = "Pick a connected account and an endpoint."
        elif endpoint.platform != account.platform:
            error = (
                f"{endpoint.label} is a {endpoint.platform} endpoint; pick a "
                f"{account.get_platform_display()} one for this account."
            )
        else:
            result = explorer.explorer_call(account=account, endpoint_key=endpoint.key)
    return render(
        request,
        "dashboard/staff/api_explorer.html",
        {
            "accounts": accounts,
            "endpoints": explorer.ENDPOINTS.values(),
            "result": result,
            "error": error,
            "chosen": chosen,
        },
        status=400 if error else 200,
    )
