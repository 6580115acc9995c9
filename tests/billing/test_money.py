"""Cost arithmetic: exact, rounded up once, never floats."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.money import (
    Metered,
    PriceSheet,
    cost_of,
    credits_to_units,
    true_cost_usd,
    units_to_credits,
    usd_to_units_ceil,
)

prices = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)
tokens = st.integers(min_value=0, max_value=10**9)
calls = st.integers(min_value=0, max_value=1000)
markups = st.decimals(min_value=0, max_value=10, places=4, allow_nan=False, allow_infinity=False)


def exact(metered: Metered, sheet: PriceSheet) -> Fraction:
    cached = min(metered.cached_input_tokens, metered.input_tokens)
    writes = min(metered.cache_write_tokens, metered.input_tokens - cached)
    writes_1h = min(metered.cache_write_1h_tokens, writes)
    reasoning = min(metered.reasoning_tokens, metered.output_tokens)
    return (
        Fraction(metered.input_tokens - cached - writes) * Fraction(sheet.input) / 10**6
        + Fraction(cached) * Fraction(sheet.cached_input) / 10**6
        + Fraction(writes - writes_1h) * Fraction(sheet.cache_write_5m or sheet.input) / 10**6
        + Fraction(writes_1h) * Fraction(sheet.cache_write_1h or sheet.input) / 10**6
        + Fraction(metered.output_tokens - reasoning) * Fraction(sheet.output) / 10**6
        + Fraction(reasoning) * Fraction(sheet.reasoning or sheet.output) / 10**6
        + metered.images * Fraction(sheet.image)
        + metered.web_search_calls * Fraction(sheet.web_search)
    )


@st.composite
def usage(draw) -> Metered:
    total = draw(tokens)
    cached = draw(st.integers(min_value=0, max_value=total))
    writes = draw(st.integers(min_value=0, max_value=total - cached))
    output = draw(tokens)
    return Metered(
        input_tokens=total,
        cached_input_tokens=cached,
        cache_write_tokens=writes,
        cache_write_1h_tokens=draw(st.integers(min_value=0, max_value=writes)),
        output_tokens=output,
        reasoning_tokens=draw(st.integers(min_value=0, max_value=output)),
        images=draw(calls),
        web_search_calls=draw(calls),
    )


@given(usage(), prices, prices, prices, prices, prices, prices, prices, prices, markups)
def test_charge_is_the_exact_cost_times_markup_rounded_up(
    m, p_in, p_cached, p_out, p_img, p_web, p_w5, p_w1, p_reason, markup
):
    sheet = PriceSheet(p_in, p_cached, p_out, p_img, p_web, p_w5, p_w1, p_reason)
    cost = cost_of(m, sheet, markup=markup)
    true = exact(m, sheet)
    assert Fraction(cost.true_usd) == true  # nothing lost on the way
    charged = true * Fraction(markup) * 10_000
    # The smallest whole number of units that covers the charge.
    assert cost.charged_units >= charged > cost.charged_units - 1
    assert cost.cost_units >= true * 10_000 > cost.cost_units - 1
    assert isinstance(cost.charged_units, int) and isinstance(cost.cost_units, int)


@given(usage(), prices, prices, prices)
def test_cost_grows_with_usage_and_markup_one_is_the_true_cost(m, p_in, p_cached, p_out):
    sheet = PriceSheet(p_in, min(p_cached, p_in), p_out)
    base = cost_of(m, sheet)
    assert base.charged_units == base.cost_units
    more = Metered(m.input_tokens + 1000, m.cached_input_tokens, m.output_tokens + 1000)
    assert cost_of(more, sheet).charged_units >= base.charged_units


def test_known_values():
    sheet = PriceSheet(Decimal("0.15"), Decimal("0.075"), Decimal("0.6"), Decimal("0.04"), Decimal("0.025"))
    # 10 uncached x 0.15 + 2 cached x 0.075 + 9 x 0.6 per 1M = $0.00000705: one unit, rounded up.
    cost = cost_of(Metered(input_tokens=12, cached_input_tokens=2, output_tokens=9), sheet)
    assert cost.true_usd == Decimal("0.00000705") and cost.cost_units == 1 and cost.charged_units == 1
    # 1M input + 1M output = $0.75 exactly = 7500 units; markup 1.2 -> $0.90.
    cost = cost_of(Metered(input_tokens=10**6, output_tokens=10**6), sheet, markup=Decimal("1.2"))
    assert (cost.cost_units, cost.charged_units) == (7500, 9000)
    # Per-call prices: 3 images and 2 searches = $0.17.
    assert cost_of(Metered(images=3, web_search_calls=2), sheet).charged_units == 1700
    # Zero usage costs nothing; a sliver of a unit costs one unit.
    assert cost_of(Metered(), sheet).charged_units == 0
    assert usd_to_units_ceil(Decimal("0.00000001")) == 1
    assert usd_to_units_ceil(Decimal("0.0001")) == 1 and usd_to_units_ceil(Decimal("0.00010001")) == 2


def test_cached_tokens_never_exceed_input():
    sheet = PriceSheet(Decimal(1), Decimal(0), Decimal(0))
    assert true_cost_usd(Metered(input_tokens=10, cached_input_tokens=50), sheet) == 0


def test_credits_are_a_display_conversion():
    assert credits_to_units(500) == 50_000  # 500 credits = $5
    assert units_to_credits(50_000) == 500
    assert units_to_credits(1) == Decimal("0.01")


def test_negative_markup_is_refused():
    with pytest.raises(ValueError):
        cost_of(Metered(input_tokens=1), PriceSheet(Decimal(1)), markup=Decimal(-1))
