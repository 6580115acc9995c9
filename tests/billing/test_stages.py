"""Billing's pipeline stages: estimates and where cost fields go."""

from __future__ import annotations

import json
from decimal import Decimal

from billing.money import PriceSheet
from billing.stages import CallBilling, call_cost, input_token_bounds, metered_usage
from gateway.canonical import Usage
from gateway.context import CallContext
from gateway.dialects import chat
from gateway.dialects.splice import splice_usage


def test_splice_usage_targets_the_top_level_usage_object():
    body = json.dumps(
        {
            "id": "resp_1",
            "tools": [{"parameters": {"properties": {"usage": {"type": "string"}}}}],
            "output": [{"content": [{"text": 'he said "usage": {"x"}'}]}],
            "usage": {"input_tokens": 1},
            "metadata": {"usage": "n/a"},
        }
    ).encode()
    out = json.loads(splice_usage(body, {"cost": 0.5}))
    assert out["usage"] == {"cost": 0.5, "input_tokens": 1}
    assert out["tools"][0]["parameters"]["properties"]["usage"] == {"type": "string"}
    assert json.loads(splice_usage(b'{"usage": {}}', {"cost": 1})) == {"usage": {"cost": 1}}
    assert splice_usage(b'{"usage": null}', {"cost": 1}) == b'{"usage": null}'


def test_sse_tail_gets_cost_in_its_last_usage_object():
    tail = (
        b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
        b'data: {"choices":[],"usage":{"prompt_tokens":3}}\n\ndata: [DONE]\n\n'
    )
    out = splice_usage(tail, {"cost": 0.25})
    assert b'"usage":{"cost":0.25,"prompt_tokens":3}' in out and out.endswith(b"data: [DONE]\n\n")


def test_input_upper_bound_is_never_below_the_encoded_size():
    req = chat.decode({"model": "m", "messages": [{"role": "user", "content": "héllo " * 100}]}, {})
    upper, estimate = input_token_bounds(req)
    assert upper >= len("héllo ".encode() * 100) and estimate < upper


def ctx_with(usage: Usage | None, *, output_events: int = 0) -> tuple[CallContext, CallBilling]:
    ctx = CallContext(endpoint="chat.completions", dialect=chat, headers={})
    ctx.usage = usage
    ctx.output_events = output_events
    ctx.model_used = "m"
    state = CallBilling(
        input_estimate=100, prices={"m": PriceSheet(Decimal(1000), Decimal(500), Decimal(2000))}
    )
    return ctx, state


def test_unknown_usage_is_estimated_only_when_output_was_produced():
    assert metered_usage(*ctx_with(None)) is None
    metered, estimated = metered_usage(*ctx_with(None, output_events=7))
    assert estimated and metered.output_tokens == 7 and metered.input_tokens == 100
    # An all-zero Usage (a stream that ended without a usage report) is unknown, not free.
    assert metered_usage(*ctx_with(Usage(), output_events=3))[1] is True
    metered, estimated = metered_usage(*ctx_with(Usage(input_tokens=10, output_tokens=5)))
    assert not estimated and metered.output_tokens == 5


def test_call_cost_uses_the_model_actually_served():
    ctx, state = ctx_with(Usage(input_tokens=1_000, output_tokens=1_000))
    state.prices["other"] = PriceSheet(Decimal(1), Decimal(1), Decimal(1))
    assert call_cost(ctx, state).charged_units == 30_000  # $1 in + $2 out at m's prices
    ctx.model_used = "other"
    assert call_cost(ctx, state).charged_units == 20
