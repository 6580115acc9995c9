"""Money arithmetic: pure functions, no Django, no I/O, never floats.

One *unit* is 1/10,000 USD: every amount Junction stores or charges is a whole
number of units. A *credit* (what people see in the console and buy in packs)
is a display conversion: 1 credit = $0.01 = 100 units.

Prices are exact ``Decimal`` USD, per million tokens for tokens and per call for
images and web searches. True cost is computed exactly (Decimal with enough
precision that nothing is ever rounded on the way), then multiplied by the
workspace's markup and rounded *up* to a whole unit once, at the end.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

UNITS_PER_USD = 10_000
UNITS_PER_CREDIT = 100
TOKENS_PER_PRICE = 1_000_000

# 60 significant digits: token counts (< 10^12) times prices (6 decimal places,
# < 10^6) times markups (a few decimal places) never come close.
_EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_CEILING, traps=[decimal.InvalidOperation])
_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class PriceSheet:
    """USD prices: tokens per million, images and web searches per call."""

    input: Decimal = Decimal(0)
    cached_input: Decimal = Decimal(0)
    output: Decimal = Decimal(0)
    image: Decimal = Decimal(0)
    web_search: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Metered:
    """What a call consumed. ``cached_input_tokens`` is part of ``input_tokens``;
    reasoning tokens are part of ``output_tokens`` and billed as output."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    web_search_calls: int = 0


@dataclass(frozen=True, slots=True)
class Cost:
    true_usd: Decimal  # exact upstream cost, before markup
    cost_units: int  # true cost rounded up to a unit
    charged_units: int  # true cost x markup, rounded up to a unit

    @property
    def charged_usd(self) -> Decimal:
        return units_to_usd(self.charged_units)


def true_cost_usd(metered: Metered, prices: PriceSheet) -> Decimal:
    cached = min(max(metered.cached_input_tokens, 0), max(metered.input_tokens, 0))
    uncached = max(metered.input_tokens, 0) - cached
    with decimal.localcontext(_EXACT):
        per_million = (
            uncached * prices.input
            + cached * prices.cached_input
            + max(metered.output_tokens, 0) * prices.output
        )
        per_call = (
            max(metered.images, 0) * prices.image + max(metered.web_search_calls, 0) * prices.web_search
        )
        return per_million / TOKENS_PER_PRICE + per_call


def usd_to_units_ceil(usd: Decimal) -> int:
    """Round a USD amount up to whole units (a fraction of a unit is a unit)."""
    with decimal.localcontext(_EXACT):
        return int((usd * UNITS_PER_USD).to_integral_value(rounding=decimal.ROUND_CEILING))


def units_to_usd(units: int) -> Decimal:
    with decimal.localcontext(_EXACT):
        return Decimal(units) / UNITS_PER_USD


def cost_of(metered: Metered, prices: PriceSheet, *, markup: Decimal = _ONE) -> Cost:
    if markup < 0:
        raise ValueError("markup must not be negative")
    true_usd = true_cost_usd(metered, prices)
    with decimal.localcontext(_EXACT):
        charged = true_usd * markup
    return Cost(
        true_usd=true_usd, cost_units=usd_to_units_ceil(true_usd), charged_units=usd_to_units_ceil(charged)
    )


def credits_to_units(credits: int | Decimal) -> int:
    with decimal.localcontext(_EXACT):
        return int((Decimal(credits) * UNITS_PER_CREDIT).to_integral_value(rounding=decimal.ROUND_CEILING))


def units_to_credits(units: int) -> Decimal:
    with decimal.localcontext(_EXACT):
        return Decimal(units) / UNITS_PER_CREDIT


def usd_number(amount: Decimal) -> float:
    """A JSON number for a USD amount shown to clients. Display only: the
    stored and charged amounts are the integer units."""
    return float(amount.quantize(Decimal("1e-10"), rounding=decimal.ROUND_HALF_EVEN, context=_EXACT))
