"""Dashboard pages. Views stay thin: read through selectors, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from platforms.models import ConnectedAccount


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    accounts = ConnectedAccount.objects.filter(owner=request.user).order_by(
        "platform", "handle"
    )
    return render(request, "dashboard/overview.html", {"accounts": accounts})


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
