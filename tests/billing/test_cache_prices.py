"""Cache writes, cache reads, cached input and reasoning at the catalog's prices,
from each provider's usage, through the official SDKs; /v1/models shows them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.money import Metered, PriceSheet, cost_of, true_cost_usd, worst_case_sheet
from tests.billing.conftest import balance, charges, set_prices, wait_settled
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

SONNET = PriceSheet(
    input=Decimal(3),
    cached_input=Decimal("0.3"),
    output=Decimal(15),
    cache_write_5m=Decimal("3.75"),
    cache_write_1h=Decimal(6),
)


def test_anthropic_cache_writes_and_reads_at_their_prices():
    # 100k plain input, 200k read, 100k written for 5 minutes, 200k for an hour, 10k out
    metered = Metered(
        input_tokens=600_000,
        cached_input_tokens=200_000,
        cache_write_tokens=300_000,
        cache_write_1h_tokens=200_000,
        output_tokens=10_000,
    )
    assert true_cost_usd(metered, SONNET) == Decimal("0.3") + Decimal("0.06") + Decimal("0.375") + Decimal(
        "1.2"
    ) + Decimal("0.15")


def test_unset_write_and_reasoning_prices_fall_back_to_input_and_output():
    sheet = PriceSheet(input=Decimal(2), cached_input=Decimal(1), output=Decimal(8))
    metered = Metered(
        input_tokens=10**6, cache_write_tokens=10**6, output_tokens=10**6, reasoning_tokens=10**6
    )
    assert true_cost_usd(metered, sheet) == Decimal(10)


def test_reasoning_tokens_at_the_reasoning_price():
    sheet = PriceSheet(input=Decimal(1), output=Decimal(4), reasoning=Decimal(10))
    metered = Metered(input_tokens=0, output_tokens=3 * 10**6, reasoning_tokens=10**6)
    assert true_cost_usd(metered, sheet) == Decimal(8) + Decimal(10)


def test_parts_larger_than_their_whole_are_clipped():
    metered = Metered(input_tokens=10, cached_input_tokens=8, cache_write_tokens=8, cache_write_1h_tokens=99)
    # 8 cached, 2 written (both 1h), nothing plain
    assert true_cost_usd(metered, SONNET) == (8 * Decimal("0.3") + 2 * Decimal(6)) / 10**6


def test_the_reservation_assumes_the_dearest_input_and_output_prices():
    worst = worst_case_sheet(
        PriceSheet(input=Decimal(3), cache_write_1h=Decimal(6), output=Decimal(15), reasoning=Decimal(20))
    )
    assert (worst.input, worst.output) == (Decimal(6), Decimal(20))
    assert cost_of(Metered(input_tokens=10**6), worst).charged_units == 60_000


# ------------------------------------------------------------------ end to end

# What the fake Anthropic reports below, at claude-sonnet-4-5's catalog prices:
# 0.1M x $3 + 0.2M read x $0.30 + 0.1M 5-minute writes x $3.75 + 0.2M 1-hour writes x $6
# + 0.01M out x $15 = $2.085 (before: every write at $3 = $1.41).
CACHED_USAGE = {
    "input_tokens": 100_000,
    "cache_read_input_tokens": 200_000,
    "cache_creation_input_tokens": 300_000,
    "cache_creation": {"ephemeral_5m_input_tokens": 100_000, "ephemeral_1h_input_tokens": 200_000},
    "output_tokens": 10_000,
}
CACHED_COST_UNITS = 20_850


@pytest.mark.parametrize("translated", [False, True])
def test_messages_bill_cache_writes_and_reads_through_the_anthropic_sdk(
    claude, api_key, fake_anthropic, monkeypatch, translated
):
    from gateway import pipeline

    if translated:
        monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)
    fake_anthropic.usage = dict(CACHED_USAGE)
    before = balance(api_key.workspace.pk)[0]
    message = claude.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.model_extra["cost"] == pytest.approx(2.085)
    assert message.usage.model_extra["cost"] == pytest.approx(2.085)
    with claude.messages.stream(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_creation_input_tokens == 300_000
    wait_settled()
    assert balance(api_key.workspace.pk)[0] == before - 2 * CACHED_COST_UNITS
    rows = wait_for_logs(2)
    assert [r.cost_units for r in rows] == [CACHED_COST_UNITS, CACHED_COST_UNITS]


def test_gemini_cached_and_thinking_tokens_at_the_catalogs_prices(client, fake_gemini, catalog):
    # The fake's usage: 30 prompt of which 4 cached, 10 candidates + 6 thoughts.
    set_prices("gemini-2.5-flash", input="1000", cached_input="100", output="2000", reasoning="5000")
    completion = client.chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
    )
    # 26 x 1000 + 4 x 100 + 10 x 2000 + 6 x 5000 = 76,400 per 1M
    assert completion.usage.model_extra["cost"] == pytest.approx(0.0764)
    wait_settled()
    assert charges()[0].amount_units == -764


def test_openai_cached_and_reasoning_tokens_at_the_catalogs_prices(client, fake_openai, catalog):
    # Responses usage: 14 in of which 4 cached, 11 out of which 3 reasoning.
    set_prices("gpt-4o-mini", input="1000", cached_input="100", output="2000", reasoning="5000")
    response = client.responses.create(model="gpt-4o-mini", input="hi")
    # 10 x 1000 + 4 x 100 + 8 x 2000 + 3 x 5000 = 41,400 per 1M
    assert response.usage.model_extra["cost"] == pytest.approx(0.0414)


def test_models_list_shows_every_price(client, fake_anthropic, fake_openai):
    sonnet = client.models.retrieve("claude-sonnet-4-5").model_extra["pricing"]
    assert {
        k: sonnet[k] for k in ("input", "cached_input", "cache_write_5m", "cache_write_1h", "output")
    } == {
        "input": "3.000000",
        "cached_input": "0.300000",
        "cache_write_5m": "3.750000",
        "cache_write_1h": "6.000000",
        "output": "15.000000",
    }
    o3 = client.models.retrieve("o3").model_extra["pricing"]
    assert o3["reasoning"] == "8.000000" and o3["cache_write_5m"] == o3["input"]
