"""Shares as every page shows them: one decimal place, like the dashboard's fmtShare (format.js)."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def share(fraction: float | None) -> str:
    """0.2314 -> "23.1%", 0.25 -> "25%", a share too small to show -> "<0.1%"."""
    if fraction is None:
        return "—"
    if 0 < fraction < 0.001:
        return "<0.1%"
    # Intl.NumberFormat rounds halves away from zero; Python's round() would round them to even.
    percent = (Decimal(str(fraction)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{percent.normalize():f}%" if percent % 1 else f"{percent:.0f}%"
