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
    """USD prices: tokens per million, images and web searches per call.

    ``cached_input`` is what a cache hit costs (OpenAI's and Gemini's cached
    input, Anthropic's cache read). A cache-write price of 0 means "as input"
    (OpenAI and Gemini charge nothing extra to write their caches), a reasoning
    price of 0 "as output" (what every provider does today)."""

    input: Decimal = Decimal(0)
    cached_input: Decimal = Decimal(0)
    output: Decimal = Decimal(0)
    image: Decimal = Decimal(0)
    web_search: Decimal = Decimal(0)
    cache_write_5m: Decimal = Decimal(0)
    cache_write_1h: Decimal = Decimal(0)
    reasoning: Decimal = Decimal(0)

    @property
    def cache_write_5m_or_input(self) -> Decimal:
        return self.cache_write_5m or self.input

    @property
    def cache_write_1h_or_input(self) -> Decimal:
        return self.cache_write_1h or self.input

    @property
    def reasoning_or_output(self) -> Decimal:
        return self.reasoning or self.output

    @property
    def highest_input(self) -> Decimal:
        """What an input token can cost at most (a reservation's worst case)."""
        return max(self.input, self.cache_write_5m, self.cache_write_1h, self.cached_input)

    @property
    def highest_output(self) -> Decimal:
        return max(self.output, self.reasoning)


@dataclass(frozen=True, slots=True)
class Metered:
    """What a call consumed. ``cached_input_tokens`` (cache hits) and
    ``cache_write_tokens`` (written to a cache, of which
    ``cache_write_1h_tokens`` for an hour, the rest for 5 minutes) are parts of
    ``input_tokens``; ``reasoning_tokens`` is part of ``output_tokens``."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    web_search_calls: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Cost:
    true_usd: Decimal  # exact upstream cost, before markup
    cost_units: int  # true cost rounded up to a unit
    charged_units: int  # true cost x markup, rounded up to a unit

    @property
    def charged_usd(self) -> Decimal:
        return units_to_usd(self.charged_units)


def _part(value: int, whole: int) -> int:
    return min(max(value, 0), whole)


def true_cost_usd(metered: Metered, prices: PriceSheet) -> Decimal:
    total_in = max(metered.input_tokens, 0)
    cached = _part(metered.cached_input_tokens, total_in)
    writes = _part(metered.cache_write_tokens, total_in - cached)
    writes_1h = _part(metered.cache_write_1h_tokens, writes)
    uncached = total_in - cached - writes
    total_out = max(metered.output_tokens, 0)
    reasoning = _part(metered.reasoning_tokens, total_out)
    with decimal.localcontext(_EXACT):
        per_million = (
            uncached * prices.input
            + cached * prices.cached_input
            + (writes - writes_1h) * prices.cache_write_5m_or_input
            + writes_1h * prices.cache_write_1h_or_input
            + (total_out - reasoning) * prices.output
            + reasoning * prices.reasoning_or_output
        )
        per_call = (
            max(metered.images, 0) * prices.image + max(metered.web_search_calls, 0) * prices.web_search
        )
        return per_million / TOKENS_PER_PRICE + per_call


def worst_case_sheet(prices: PriceSheet) -> PriceSheet:
    """Prices under which every input token and every output token costs the
    most it can (a reservation does not know yet what will be cached or reasoned)."""
    return PriceSheet(
        input=prices.highest_input,
        output=prices.highest_output,
        image=prices.image,
        web_search=prices.web_search,
    )


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
