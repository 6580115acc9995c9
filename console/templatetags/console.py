"""Display helpers for console templates: money, counts, durations, times."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from billing.money import units_to_usd

register = template.Library()


@register.filter
def usd(units: int | None) -> str:
    """Integer units (1/10,000 USD) as dollars: two decimals, four below a cent."""
    if units is None:
        return "—"
    amount = units_to_usd(int(units))
    places = Decimal("0.01") if abs(amount) >= 1 or amount == 0 else Decimal("0.0001")
    value = amount.quantize(places, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,}"


@register.filter
def usd_per_million(price: Decimal | None) -> str:
    """A per-million-token price in USD, without trailing zeros."""
    if price is None:
        return "—"
    text = f"{Decimal(price):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"${text}"


@register.filter
def compact(number: int | None) -> str:
    """1234 -> 1.2k, 1234567 -> 1.2M."""
    if number is None:
        return "—"
    n = int(number)
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(n)


@register.filter
def percent(fraction: float | None) -> str:
    if fraction is None:
        return "—"
    value = fraction * 100
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


@register.filter
def ms(milliseconds: int | None) -> str:
    if not milliseconds:
        return "—"
    return f"{milliseconds / 1000:.2f} s" if milliseconds >= 1000 else f"{milliseconds} ms"


@register.filter
def cents_usd(cents: int | None) -> str:
    """US cents as dollars: 2500 -> 25, 1050 -> 10.50."""
    if cents is None:
        return "—"
    whole, rest = divmod(int(cents), 100)
    return f"{whole:,}" if rest == 0 else f"{whole:,}.{rest:02d}"


@register.filter
def ago(moment: datetime | None) -> str:
    """How long ago: "just now" under a minute, else "3 minutes ago"; "never" for None."""
    if moment is None:
        return "never"
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"
