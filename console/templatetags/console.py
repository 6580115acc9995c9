"""Display helpers for console templates: money, counts, durations."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

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
