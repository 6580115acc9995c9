"""``n``, ``logprobs`` and ``top_logprobs`` end to end through the official
OpenAI SDK: passed through to OpenAI chat (several choices, billed over all of
them), translated between Chat Completions and the Responses API where both
carry log probabilities, and refused with a 400 naming the parameter, before
any upstream call or charge, where the upstream cannot honour them."""

from __future__ import annotations

import json

import openai
import pytest

from billing.models import KeyLimits
from billing.stages import input_token_bounds, worst_case_units
from gateway.catalog.snapshot import load_catalog
from gateway.dialects import chat as chat_dialect
from gateway.dialects import responses as responses_dialect
from gateway.errors import GatewayError
from gateway.providers import anthropic as anthropic_adapter
from gateway.providers import gemini as gemini_adapter
from routing_rules.router import route
from tests.billing import conftest as billing_fixtures
from tests.billing.conftest import balance, charges, set_balance, wait_settled
from tests.fakes.asgi import words
from tests.fakes.openai_upstream import REPLY, choice_reply
from tests.gateway import test_v1_openai_translation as translation
from tests.gateway.test_v1_openai_translation import chat_complete, responses_complete, sent
from tests.routing_rules.helpers import everyone, shipped_catalog

pytestmark = pytest.mark.django_db(transaction=True)

# Fixtures shared with the billing and translation tests.
priced = billing_fixtures.priced
upstreams, translate = translation.upstreams, translation.translate

CHAT = [{"role": "user", "content": "Say hello"}]
LOGPROBS_INCLUDE = ["message.output_text.logprobs"]
# gpt-4o-mini at ``priced``: 12 in (2 cached) and 2 x 9 out = 10 x 1000 + 2 x 500 + 18 x 2000 per 1M.
N2_COST_UNITS = 470


def assert_tokens(tokens, text: str, top: int) -> None:
    """The fake's tokens: one per word of ``text``, each with ``top`` alternatives (itself first)."""
    assert "".join(t.token for t in tokens) == text
    assert [t.token for t in tokens] == words(text)
    assert [t.logprob for t in tokens] == [-0.5 * (i + 1) for i in range(len(tokens))]
    for t in tokens:
        assert len(t.top_logprobs) == top
        assert top == 0 or t.top_logprobs[0].token == t.token


# ----------------------------------------------------------- n, same wire


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_n2_over_openai_chat_answers_two_choices_and_bills_both(client, fake_openai, api_key, priced, stream):
    ws = api_key.workspace.pk
    before = balance(ws)[0]
    completion = chat_complete(
        client,
        stream,
        model="gpt-4o-mini",
        messages=CHAT,
        n=2,
        max_tokens=50,
        **({"stream_options": {"include_usage": True}} if stream else {}),
    )
    assert sorted((c.index, c.message.content) for c in completion.choices) == [
        (0, REPLY),
        (1, choice_reply(REPLY, 1)),
    ]
    assert all(c.finish_reason == "stop" for c in completion.choices)
    assert fake_openai.requests[-1].body["n"] == 2
    assert completion.usage.completion_tokens == 18  # OpenAI's usage covers every choice
    assert completion.usage.model_extra["cost"] == pytest.approx(N2_COST_UNITS / 10_000)
    wait_settled()
    assert balance(ws) == (before - N2_COST_UNITS, 0)
    assert charges()[-1].amount_units == -N2_COST_UNITS


def test_the_hold_covers_n_times_max_tokens(client, fake_openai, api_key, priced):
    """A balance that covers one answer's worst case but not two: n=2 is a 402 with no upstream call."""
    body = {"model": "gpt-4o-mini", "messages": CHAT, "max_tokens": 2000}
    model = load_catalog().lookup("gpt-4o-mini")
    req = chat_dialect.decode(body, {})
    upper, _ = input_token_bounds(req, len(json.dumps(body)) + 10)
    one = worst_case_units(req, model, input_upper=upper, markup=1)
    req.n = 2
    two = worst_case_units(req, model, input_upper=upper, markup=1)
    assert two > one * 1.5
    set_balance(api_key.workspace.pk, (one + two) // 2)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(n=2, **body)
    assert info.value.status_code == 402
    assert fake_openai.requests == []
    assert len(client.chat.completions.create(**body).choices) == 1


def test_n_counts_against_tokens_per_minute(client, fake_openai, api_key, priced):
    KeyLimits.objects.create(api_key_id=api_key.pk, tpm_limit=1_000)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=400, n=3)
    assert fake_openai.requests == []


def test_n_above_openais_range_is_a_400(client, fake_openai):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, n=129)
    assert info.value.body["param"] == "n" and fake_openai.requests == []


# ----------------------------------------------------- logprobs, same wire


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_logprobs_over_openai_chat(client, fake_openai, stream):
    completion = chat_complete(
        client, stream, model="gpt-4o-mini", messages=CHAT, logprobs=True, top_logprobs=2
    )
    assert fake_openai.requests[-1].body["logprobs"] is True
    assert_tokens(completion.choices[0].logprobs.content, REPLY, 2)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_logprobs_over_openai_responses(client, fake_openai, stream):
    response = responses_complete(
        client, stream, model="gpt-4o-mini", input="hi", include=LOGPROBS_INCLUDE, top_logprobs=3
    )
    assert fake_openai.requests[-1].body["top_logprobs"] == 3
    assert_tokens(response.output[0].content[0].logprobs, REPLY, 3)
    assert response.top_logprobs == 3


def test_top_logprobs_without_logprobs_is_a_400(client, fake_openai):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, top_logprobs=2)
    assert info.value.body["param"] == "top_logprobs" and fake_openai.requests == []


# ------------------------------------------------------ logprobs, translated


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_chat_caller_gets_logprobs_from_the_responses_api(client, upstreams, translate, stream):
    completion = chat_complete(
        client, stream, model="gpt-4.1", messages=CHAT, logprobs=True, top_logprobs=2, max_tokens=100
    )
    body = sent(upstreams, "/v1/responses")
    assert body["top_logprobs"] == 2 and "message.output_text.logprobs" in body["include"]
    assert completion.choices[0].message.content == REPLY
    assert_tokens(completion.choices[0].logprobs.content, REPLY, 2)
    second = completion.choices[0].logprobs.content[1]
    if stream:  # the Responses stream events carry no bytes: null, not made up
        assert second.bytes is None
    else:
        assert second.bytes == list(words(REPLY)[1].encode())


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_caller_gets_logprobs_from_a_chat_upstream(client, upstreams, stream):
    response = responses_complete(
        client, stream, model="deepseek-chat", input="hi", include=LOGPROBS_INCLUDE, top_logprobs=2
    )
    body = sent(upstreams, "/v1/chat/completions")
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert response.output_text == REPLY
    tokens = response.output[0].content[0].logprobs
    assert_tokens(tokens, REPLY, 2)
    assert tokens[0].bytes == list(words(REPLY)[0].encode())
    assert response.top_logprobs == 2


def test_responses_stream_from_a_chat_upstream_carries_logprobs_on_each_delta(client, upstreams):
    deltas, done = [], None
    for event in client.responses.create(
        model="deepseek-chat", input="hi", include=LOGPROBS_INCLUDE, top_logprobs=1, stream=True
    ):
        if event.type == "response.output_text.delta":
            deltas.append(event)
        elif event.type == "response.output_text.done":
            done = event
    assert [d.delta for d in deltas] == words(REPLY)
    assert [[t.token for t in d.logprobs] for d in deltas] == [[w] for w in words(REPLY)]
    assert done is not None and [t.token for t in done.logprobs] == words(REPLY)


def test_without_asking_there_are_no_logprobs(client, upstreams, translate):
    completion = client.chat.completions.create(model="gpt-4.1", messages=CHAT)
    assert completion.choices[0].logprobs is None
    body = sent(upstreams, "/v1/responses")
    assert "top_logprobs" not in body and "message.output_text.logprobs" not in (body.get("include") or [])
    response = client.responses.create(model="mistral-small-latest", input="hi")
    assert response.output[0].content[0].logprobs == []
    assert "logprobs" not in sent(upstreams, "/v1/chat/completions")


# ------------------------------------------------------------- refusals


def test_n2_on_a_translated_openai_route_is_a_400(client, upstreams, translate):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4.1", messages=CHAT, n=2)
    assert info.value.body["param"] == "n" and info.value.body["code"] == "unsupported_parameter"
    assert upstreams.requests == []


CHAT_REFUSALS = [
    ({"n": 2}, "n"),
    ({"logprobs": True}, "logprobs"),
    ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
]
RESPONSES_REFUSALS = [({"include": LOGPROBS_INCLUDE}, "include"), ({"top_logprobs": 2}, "top_logprobs")]


@pytest.mark.parametrize(
    "fake_name,model", [("fake_anthropic", "claude-haiku-4-5"), ("fake_gemini", "gemini-2.5-flash")]
)
@pytest.mark.parametrize(
    "dialect,params,param",
    [("chat", *r) for r in CHAT_REFUSALS] + [("responses", *r) for r in RESPONSES_REFUSALS],
)
def test_anthropic_and_gemini_refuse_naming_the_parameter(
    request, client, api_key, priced, fake_name, model, dialect, params, param
):
    fake = request.getfixturevalue(fake_name)
    before = balance(api_key.workspace.pk)
    with pytest.raises(openai.BadRequestError) as info:
        if dialect == "chat":
            client.chat.completions.create(model=model, messages=CHAT, **params)
        else:
            client.responses.create(model=model, input="hi", **params)
    assert info.value.body["param"] == param and info.value.body["code"] == "unsupported_parameter"
    assert fake.requests == []
    wait_settled()
    assert balance(api_key.workspace.pk) == before and charges() == []


# ------------------------------------------------------- catalog capability


@pytest.mark.parametrize(
    "model,dialect,params,param",
    [
        ("gpt-5-mini", "chat", {"logprobs": True}, "logprobs"),  # OpenAI's reasoning models return none
        ("mistral-small-latest", "chat", {"logprobs": True, "top_logprobs": 1}, "logprobs"),
        ("mistral-small-latest", "responses", {"include": LOGPROBS_INCLUDE}, "include"),
        ("gpt-5-mini", "responses", {"top_logprobs": 2}, "top_logprobs"),
    ],
)
def test_a_model_without_the_logprobs_capability_is_refused(client, upstreams, model, dialect, params, param):
    with pytest.raises(openai.BadRequestError) as info:
        if dialect == "chat":
            client.chat.completions.create(model=model, messages=CHAT, **params)
        else:
            client.responses.create(model=model, input="hi", **params)
    assert info.value.body["param"] == param and info.value.body["code"] == "unsupported_parameter"
    assert "logprobs" in info.value.body["message"]
    assert upstreams.requests == []


def test_auto_models_are_chosen_among_those_that_return_logprobs():
    catalog = shipped_catalog()
    req = chat_dialect.decode({"model": "auto:cost", "messages": CHAT, "logprobs": True}, {})
    decision = route(req, catalog, is_configured=everyone)
    assert decision.candidates
    assert all("logprobs" in d.model.capabilities for d in decision.candidates)
    plain = route(
        chat_dialect.decode({"model": "auto:cost", "messages": CHAT}, {}), catalog, is_configured=everyone
    )
    assert any("logprobs" not in d.model.capabilities for d in plain.candidates)


@pytest.mark.parametrize("adapter", [anthropic_adapter, gemini_adapter], ids=["anthropic", "gemini"])
@pytest.mark.parametrize(
    "body,param", [({"include": LOGPROBS_INCLUDE}, "include"), ({"top_logprobs": 3}, "top_logprobs")]
)
def test_the_adapters_refuse_a_responses_callers_logprobs_in_its_spelling(adapter, body, param):
    """The adapters refuse too, whatever the catalog says (an operator may have listed the capability)."""
    req = responses_dialect.decode({"model": "m", "input": "hi", **body}, {})
    with pytest.raises(GatewayError) as info:
        adapter.build_request(req, upstream_model="m", base_url="https://up.test", api_key="k")
    assert (
        info.value.status == 400 and info.value.param == param and info.value.code == "unsupported_parameter"
    )
