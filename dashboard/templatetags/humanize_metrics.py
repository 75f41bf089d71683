"""Formatting of metric values: a missing value reads as an em dash, never 0."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()

MISSING = "—"


@register.filter
def metric(value: float | int | None) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


@register.filter
def percent(value: float | None) -> str:
    return MISSING if value is None else f"{100 * value:.2f} %"


@register.filter
def change(value: float | None) -> str:
    """Change against the previous period, with a word for screen readers."""
    if value is None:
        return ""
    direction, arrow = ("up", "▲") if value >= 0 else ("down", "▼")
    return format_html(
        '<span class="change change-{}" title="{} {}% vs previous period">'
        "{} {}%</span>",
        direction,
        direction,
        abs(value),
        arrow,
        f"{abs(value):.1f}",
    )


@register.filter
def change_points(value: float | None) -> str:
    """Change of a rate against the previous period, in percentage points."""
    if value is None:
        return ""
    direction, arrow = ("up", "▲") if value >= 0 else ("down", "▼")
    return format_html(
        '<span class="change change-{}" title="{} {} percentage points vs previous '
        'period">{} {} pp</span>',
        direction,
        direction,
        f"{abs(value):.2f}",
        arrow,
        f"{abs(value):.2f}",
    )
