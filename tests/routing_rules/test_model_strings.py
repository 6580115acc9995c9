"""Model strings customers bring from other gateways, the documented mode
names, and models used on the wrong endpoint — through the official SDKs."""

from __future__ import annotations

import anthropic
import openai
import pytest

from gateway.dialects import embeddings
from gateway.errors import GatewayError
from routing_rules.router import label, route
from tests.helpers import wait_for_logs
from tests.routing_rules.helpers import chat_request, everyone, rule, shipped_catalog

HI = [{"role": "user", "content": "hi"}]
CAT = shipped_catalog()


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-4o-mini", ["openai/gpt-4o-mini"]),
        ("openrouter/gpt-4o-mini", ["openrouter/gpt-4o-mini"]),
        ("anthropic/claude-sonnet-4-5", ["anthropic/claude-sonnet-4-5"]),
        ("gemini/gemini-2.5-flash", ["gemini/gemini-2.5-flash"]),
        ("anthropic/claude-sonnet-4.5", ["anthropic/claude-sonnet-4-5"]),  # an alias after the slash
    ],
)
def test_slash_form_means_the_same_as_the_colon_form(model, expected):
    slash = route(chat_request(model), CAT, is_configured=everyone)
    colon = route(chat_request(model.replace("/", ":", 1)), CAT, is_configured=everyone)
    assert [label(d) for d in slash.candidates] == [label(d) for d in colon.candidates] == expected
    assert slash.trace[0]["provider"] == model.split("/")[0]


def test_slash_form_with_an_auto_mode():
    decision = route(chat_request("mistral/auto:cost"), CAT, is_configured=everyone)
    assert {d.provider.slug for d in decision.candidates} == {"mistral"}
    assert decision.mode == "cost"


def test_slash_form_of_an_unknown_provider_is_still_404():
    with pytest.raises(GatewayError) as exc:
        route(chat_request("nosuch/gpt-4o"), CAT, is_configured=everyone)
    assert exc.value.status == 404 and exc.value.param == "model"


def test_chat_through_the_sdk_with_provider_slash_model(client, upstreams):
    raw = client.chat.completions.with_raw_response.create(model="openai/gpt-4o-mini", messages=HI)
    resp = raw.parse()
    assert resp.choices[0].message.content
    assert resp.model_extra["provider"] == "openai"
    assert raw.headers["x-junction-route"].endswith("candidates=openai/gpt-4o-mini")
    assert upstreams.primary.inner.requests[0].body["model"] == "gpt-4o-mini"
    assert upstreams.secondary.requests == []
    # the other provider, by the same form
    resp = client.chat.completions.create(model="openrouter/gpt-4o-mini", messages=HI)
    assert resp.model_extra["provider"] == "openrouter"


def test_embeddings_through_the_sdk_with_provider_slash_model(client, fake_openai):
    result = client.embeddings.create(model="openai/text-embedding-3-small", input=["one"])
    assert result.data[0].embedding == [0.25, -0.5, 0.0]
    assert fake_openai.requests[-1].body["model"] == "text-embedding-3-small"


def test_responses_through_the_sdk_with_provider_slash_model(client, fake_openai):
    resp = client.responses.create(model="openai/gpt-4o-mini", input="hi")
    assert resp.output_text
    assert fake_openai.requests[-1].body["model"] == "gpt-4o-mini"


# ---------------------------------------------------------------- auto:latency


@pytest.mark.parametrize("model", ["auto:latency", "auto:fast"])
def test_auto_latency_reports_latency_everywhere(client, upstreams, model):
    raw = client.chat.completions.with_raw_response.create(model=model, messages=HI)
    assert raw.parse().model_extra["routing_mode"] == "latency"
    assert "; mode=latency;" in raw.headers["x-junction-route"]
    (row,) = wait_for_logs()
    assert row.extra["routing_mode"] == "latency"


def test_auto_latency_reports_latency_in_a_stream(client, upstreams):
    stream = client.chat.completions.create(
        model="auto:latency", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    assert list(stream)[-1].model_extra["routing_mode"] == "latency"


def test_auto_latency_reports_latency_in_the_preview(manage_client, catalog, fake_openai):
    body = {"request": {"model": "auto:latency", "messages": HI}}
    out = manage_client.post("/api/manage/routing/preview", body, format="json").json()
    assert out["routing_mode"] == "latency"
    assert "; mode=latency;" in out["header"]


# ---------------------------------------------------------------- wrong endpoint


def test_embedding_model_on_chat_is_400_naming_model_before_any_upstream_call(client, fake_openai):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="text-embedding-3-small", messages=HI)
    assert exc.value.body["param"] == "model" and exc.value.body["code"] == "model_not_supported"
    assert "embedding model" in exc.value.body["message"]
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="openai/text-embedding-3-large", input="hi")
    assert exc.value.body["param"] == "model"
    assert fake_openai.requests == []
    rows = wait_for_logs(2)
    assert {r.status_code for r in rows} == {400}


def test_chat_model_on_embeddings_is_400_naming_model(client, fake_openai):
    with pytest.raises(openai.BadRequestError) as exc:
        client.embeddings.create(model="gpt-4o-mini", input="hi")
    assert exc.value.body["param"] == "model" and "chat model" in exc.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="gpt-image-1", input="hi")
    assert fake_openai.requests == []


def test_embedding_model_on_messages_is_400_in_anthropics_shape(junction, api_key, fake_openai):
    claude = anthropic.Anthropic(api_key=api_key.secret, base_url=junction.url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as exc:
        claude.messages.create(model="text-embedding-3-small", max_tokens=10, messages=HI)
    assert exc.value.body["type"] == "error" and "model" in exc.value.body["error"]["message"]
    assert fake_openai.requests == []


def test_a_rule_routing_to_the_wrong_kind_of_model_is_skipped_with_a_reason():
    r = rule(1, [], {"type": "route", "model": "text-embedding-3-small", "fallbacks": ["gpt-4o-mini"]})
    decision = route(chat_request("gpt-4o"), CAT, is_configured=everyone, rules=[r])
    assert decision.candidates[0].model.model_id == "gpt-4o-mini"
    assert decision.trace[0]["skipped"] == "embeddings model, not for this endpoint"
    req = embeddings.decode({"model": "text-embedding-3-small", "input": "x"}, {})
    assert route(req, CAT, is_configured=everyone).model.model_id == "text-embedding-3-small"
