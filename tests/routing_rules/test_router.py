"""Resolution of every model form, eligibility, the no-eligible error, the trace."""

from __future__ import annotations

import pytest

from gateway.dialects import chat
from gateway.errors import ErrorType, GatewayError
from routing_rules.router import NO_ELIGIBLE, ROUTE_HEADER, label, route
from tests.routing_rules.helpers import chat_request, deployment, everyone, only, shipped_catalog

CAT = shipped_catalog()


def labels(decision) -> list[str]:
    return [label(d) for d in decision.candidates]


def test_exact_catalog_id_lists_its_deployments_in_priority_order():
    decision = route(chat_request("gpt-4o-mini"), CAT, is_configured=everyone)
    assert labels(decision) == ["openai/gpt-4o-mini", "openrouter/gpt-4o-mini"]
    assert decision.model.model_id == "gpt-4o-mini" and decision.mode is None


def test_only_configured_providers_are_candidates():
    decision = route(chat_request("gpt-4o-mini"), CAT, is_configured=only("openrouter"))
    assert labels(decision) == ["openrouter/gpt-4o-mini"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("anthropic:claude-sonnet-4-5", ["anthropic/claude-sonnet-4-5"]),
        ("openrouter:claude-sonnet-4-5", ["openrouter/claude-sonnet-4-5"]),
        ("openai:gpt-4o", ["openai/gpt-4o"]),
        ("gemini:gemini-2.5-flash", ["gemini/gemini-2.5-flash"]),
        ("deepseek:deepseek-chat", ["deepseek/deepseek-chat"]),
        ("mistral:mistral-small-latest", ["mistral/mistral-small-latest"]),
    ],
)
def test_provider_prefix_pins_the_provider(model, expected):
    decision = route(chat_request(model), CAT, is_configured=everyone)
    assert labels(decision) == expected
    assert decision.trace[0]["provider"] == model.split(":")[0]


def test_provider_prefix_on_a_model_the_provider_does_not_serve_is_422():
    with pytest.raises(GatewayError) as exc:
        route(chat_request("mistral:gpt-4o"), CAT, is_configured=everyone)
    assert exc.value.type is ErrorType.ROUTING and exc.value.message == NO_ELIGIBLE


def test_operator_alias_resolves_to_the_model():
    decision = route(chat_request("claude-sonnet-4.5"), CAT, is_configured=everyone)
    assert decision.model.model_id == "claude-sonnet-4-5"
    assert labels(decision)[0] == "anthropic/claude-sonnet-4-5"


def test_unknown_model_is_404_model_not_found():
    with pytest.raises(GatewayError) as exc:
        route(chat_request("gpt-17"), CAT, is_configured=everyone)
    assert exc.value.type is ErrorType.MODEL_NOT_FOUND and exc.value.status == 404


@pytest.mark.parametrize(
    "model", ["auto:fast", "auto:latency", "auto:balance", "auto:cost", "auto:quality", "auto"]
)
def test_auto_modes_score_the_whole_catalog(model):
    decision = route(chat_request(model), CAT, is_configured=everyone, explain=True)
    expected = {"auto": "balance", "auto:fast": "latency"}.get(model, model.removeprefix("auto:"))
    assert decision.mode == expected
    assert len({d.model.model_id for d in decision.candidates}) > 5
    # embeddings and image models never answer a chat request
    assert not any(
        "embedding" in d.model.model_id or d.model.model_id == "gpt-image-1" for d in decision.candidates
    )
    assert all(d.id in decision.scores for d in decision.candidates)
    scores = [decision.scores[d.id]["score"] for d in decision.candidates]
    assert scores == sorted(scores, reverse=True)


def test_router_mode_parameter_ranks_a_concrete_models_deployments():
    req = chat_request("gpt-4o-mini", router_mode="cost")
    decision = route(req, CAT, is_configured=everyone, explain=True)
    assert decision.mode == "cost" and len(decision.candidates) == 2
    assert decision.candidates[0].id in decision.scores


def test_router_mode_parameter_applies_to_bare_auto():
    decision = route(chat_request("auto", router_mode="quality"), CAT, is_configured=everyone)
    assert decision.mode == "quality"
    assert decision.candidates[0].model.quality_tier == 5


def test_unknown_mode_is_400():
    with pytest.raises(GatewayError) as exc:
        route(chat_request("auto:vibes"), CAT, is_configured=everyone)
    assert exc.value.status == 400 and exc.value.param == "model"
    with pytest.raises(GatewayError) as exc:
        route(chat_request("gpt-4o", router_mode="vibes"), CAT, is_configured=everyone)
    assert exc.value.param == "router_mode"


def test_provider_prefix_with_auto_restricts_the_pool():
    decision = route(chat_request("mistral:auto:cost"), CAT, is_configured=everyone)
    assert {d.provider.slug for d in decision.candidates} == {"mistral"}
    assert decision.candidates[0].model.model_id == "mistral-small-latest"


# ------------------------------------------------------------ eligibility

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
IMAGE = [
    {"type": "text", "text": "what is it"},
    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
]
FILE = [{"type": "file", "file": {"file_id": "file-1"}}]
SCHEMA = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}


@pytest.mark.parametrize(
    ("body", "need", "excluded_model"),
    [
        ({"tools": [TOOL]}, "tools", "deepseek-reasoner"),
        ({"response_format": SCHEMA}, "json_schema", "deepseek-chat"),
        ({"messages": [{"role": "user", "content": IMAGE}]}, "vision", "deepseek-chat"),
        ({"messages": [{"role": "user", "content": FILE}]}, "files", "mistral-large-latest"),
        ({"reasoning_effort": "high"}, "reasoning", "gpt-4o"),
    ],
)
def test_auto_pool_is_filtered_by_what_the_request_needs(body, need, excluded_model):
    decision = route(chat_request("auto:cost", **body), CAT, is_configured=everyone)
    assert decision.candidates
    assert all(need in d.model.capabilities for d in decision.candidates)
    assert excluded_model not in {d.model.model_id for d in decision.candidates}


def test_streaming_needs_streaming_capability():
    from dataclasses import replace

    from gateway.catalog.snapshot import Catalog

    model = replace(CAT.models["deepseek-reasoner"], capabilities=frozenset({"json_object"}))
    deps = tuple(replace(d, model=model) for d in CAT.deployments["deepseek-reasoner"])
    catalog = Catalog(
        {**CAT.models, model.model_id: model}, CAT.aliases, CAT.providers, {model.model_id: deps}
    )
    req = chat_request("deepseek-reasoner", stream=True)
    with pytest.raises(GatewayError) as exc:
        route(req, catalog, is_configured=everyone)
    assert exc.value.status == 422
    (target, _) = exc.value.rule_trace
    assert target["excluded"] == [
        {"deployment": "deepseek/deepseek-reasoner", "reason": "model lacks streaming"}
    ]


def test_missing_capability_on_a_named_model_is_422_with_the_reason_in_the_trace():
    with pytest.raises(GatewayError) as exc:
        route(chat_request("deepseek-chat", response_format=SCHEMA), CAT, is_configured=everyone)
    err = exc.value
    body = chat.error_body(err, "req_x")["error"]
    assert body["type"] == "routing_error" and body["message"] == NO_ELIGIBLE
    assert body["http_status"] == 422 and body["provider"] is None and body["raw"] is None
    assert body["rule_trace"][0]["excluded"] == [
        {"deployment": "deepseek/deepseek-chat", "reason": "model lacks json_schema"},
        {"deployment": "openrouter/deepseek-chat", "reason": "model lacks json_schema"},
    ]
    assert err.headers[ROUTE_HEADER] == "rule=none; candidates=none"


def test_input_that_does_not_fit_the_context_window_is_excluded():
    long_text = "word " * 140_000  # ~175k tokens: over 128k, under 200k and 1M
    decision = route(chat_request("auto:cost", text=long_text), CAT, is_configured=everyone)
    assert all(d.model.context_window >= 175_000 for d in decision.candidates)
    with pytest.raises(GatewayError) as exc:
        route(chat_request("gpt-4o", text=long_text), CAT, is_configured=everyone)
    assert exc.value.status == 422


def test_open_circuits_are_skipped_and_traced():
    dead = deployment("gpt-4o-mini", "openai")
    decision = route(
        chat_request("gpt-4o-mini"), CAT, is_configured=everyone, is_open=lambda d: d.id == dead.id
    )
    assert labels(decision) == ["openrouter/gpt-4o-mini"]
    assert {"deployment": "openai/gpt-4o-mini", "reason": "circuit open"} in decision.trace[0]["excluded"]


def test_every_deployment_behind_an_open_circuit_is_503_not_422():
    with pytest.raises(GatewayError) as exc:
        route(chat_request("gpt-4o-mini"), CAT, is_configured=everyone, is_open=lambda d: True)
    assert exc.value.status == 503 and exc.value.code == "upstreams_unavailable"
    # One deployment left out for another reason: the request itself can't be served as asked.
    with pytest.raises(GatewayError) as exc:
        route(
            chat_request("gpt-4o-mini"),
            CAT,
            is_configured=lambda d: d.provider.slug == "openai",
            is_open=lambda d: True,
        )
    assert exc.value.status == 422 and exc.value.code == "no_eligible_provider"


def test_nothing_configured_is_422_routing_error():
    with pytest.raises(GatewayError) as exc:
        route(chat_request("gpt-4o-mini"), CAT, is_configured=lambda d: False)
    assert exc.value.type is ErrorType.ROUTING and exc.value.status == 422
    assert exc.value.code == "no_eligible_provider"


def test_trace_and_header_explain_the_decision():
    decision = route(chat_request("auto:cost"), CAT, is_configured=only("openai"))
    target, final = decision.trace[0], decision.trace[-1]
    assert target["step"] == "target" and target["source"] == "request" and target["mode"] == "cost"
    assert target["ranking"][0]["deployment"] == label(decision.candidates[0])
    assert final == {"step": "candidates", "candidates": labels(decision)}
    assert decision.header.startswith("rule=none; mode=cost; candidates=openai/")


def test_embedding_batches_fit_per_input_not_in_sum():
    from gateway.dialects import embeddings

    batch = embeddings.decode({"model": "text-embedding-3-small", "input": ["word " * 5_000] * 50}, {})
    decision = route(batch, CAT, is_configured=everyone)
    assert labels(decision) == ["openai/text-embedding-3-small"]
    too_long = embeddings.decode({"model": "text-embedding-3-small", "input": ["word " * 9_000]}, {})
    with pytest.raises(GatewayError) as exc:
        route(too_long, CAT, is_configured=everyone)
    assert "context window" in exc.value.rule_trace[0]["excluded"][0]["reason"]
