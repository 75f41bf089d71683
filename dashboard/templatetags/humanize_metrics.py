"""Formatting of metric values: a missing value reads as an em dash, never 0."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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


# What rounds to nothing is no change: neither an arrow nor the colour of
# growth, which would claim a gain that did not happen.
NO_CHANGE = mark_safe(
    '<span class="change change-none"><span aria-hidden="true">no change</span>'
    '<span class="visually-hidden">no change vs the previous period</span></span>'
)


def _change_html(value: float, shown: str, spoken: str) -> str:
    # The arrow and colour show the direction to sighted readers; the hidden
    # words say it to screen readers (a title attribute is not read out).
    direction, arrow = ("up", "▲") if value > 0 else ("down", "▼")
    return format_html(
        '<span class="change change-{}"><span aria-hidden="true">{} {}</span>'
        '<span class="visually-hidden">{} {} vs the previous period</span></span>',
        direction,
        arrow,
        shown,
        direction,
        spoken,
    )


@register.filter
def change(value: float | None) -> str:
    """Change against the previous period, in percent."""
    if value is None:
        return ""
    amount = f"{abs(value):.1f}%"
    if amount == "0.0%":
        return NO_CHANGE
    return _change_html(value, amount, amount)


@register.filter
def change_points(value: float | None) -> str:
    """Change of a rate against the previous period, in percentage points."""
    if value is None:
        return ""
    amount = f"{abs(value):.2f}"
    if amount == "0.00":
        return NO_CHANGE
    return _change_html(value, f"{amount} pp", f"{amount} percentage points")
