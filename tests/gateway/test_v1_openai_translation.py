"""End to end over the translation path: the official OpenAI SDK -> live Junction
-> fake upstream, for {chat, responses} callers x {openai (Responses wire),
openai_compatible (chat wire)} x {stream, non-stream} x {text, tool round
trip, json_schema}.

Translation is forced (``same_wire`` patched off), so a chat caller to OpenAI
is served from the Responses API and a chat caller to DeepSeek goes through
the chat codec rather than the byte pass-through.
"""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from gateway import pipeline
from tests.fakes.openai_upstream import ENCRYPTED, JSON_REPLY, REASONING
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

UPSTREAMS = {
    # provider kind -> (model, provider slug, upstream path, usage the fake reports)
    "openai": ("gpt-4.1", "openai", "/v1/responses", (14, 4, 11)),
    # Mistral: an openai_compatible provider whose catalog entry has tools, vision and json_schema.
    "openai_compatible": ("mistral-small-latest", "mistral", "/v1/chat/completions", (12, 2, 9)),
}
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
RESPONSES_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}


class Weather(BaseModel):
    city: str
    temperature_c: int


@pytest.fixture
def upstreams(fake_openai, fake_openai_server, settings):
    """The fake serves OpenAI and two openai_compatible providers (DeepSeek, Mistral)."""
    _, server = fake_openai_server
    creds = {slug: dict(v) for slug, v in settings.PROVIDER_CREDENTIALS.items()}
    creds["deepseek"] = {"api_key": "sk-deepseek-test", "base_url": f"{server.url}/v1"}
    creds["mistral"] = {"api_key": "sk-deepseek-test", "base_url": f"{server.url}/v1"}
    settings.PROVIDER_CREDENTIALS = creds
    return fake_openai


@pytest.fixture
def translate(monkeypatch):
    monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)


def sent(fake, path: str) -> dict:
    assert fake.requests, "the upstream was not called"
    last = fake.requests[-1]
    assert last.path == path
    return last.body


# ------------------------------------------------------------ chat caller


def chat_complete(client: openai.OpenAI, stream: bool, **kwargs):
    if not stream:
        return client.chat.completions.create(**kwargs)
    with client.chat.completions.stream(**kwargs) as s:
        for _ in s:
            pass
        return s.get_final_completion()


def responses_complete(client: openai.OpenAI, stream: bool, **kwargs):
    if not stream:
        return client.responses.create(**kwargs)
    with client.responses.stream(**kwargs) as s:
        for _ in s:
            pass
        return s.get_final_response()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_chat_caller_plain_text(client, upstreams, translate, kind, stream):
    model, slug, path, (inp, cached, out) = UPSTREAMS[kind]
    kwargs = {"stream_options": {"include_usage": True}} if stream else {}
    completion = chat_complete(
        client,
        stream,
        model=model,
        messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Say hello"}],
        max_tokens=200,
        **kwargs,
    )
    assert completion.choices[0].message.content == upstreams.reply
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (inp, out)
    assert completion.usage.prompt_tokens_details.cached_tokens == cached
    body = sent(upstreams, path)
    assert body["model"] == model and body.get("stream", False) is stream
    if kind == "openai":
        assert body["store"] is False and body["max_output_tokens"] == 200
        assert body["input"][0] == {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "Be kind."}],
        }
    else:
        assert body["messages"][0] == {"role": "system", "content": "Be kind."}
        assert body["max_tokens"] == 200
    (row,) = wait_for_logs(1)
    assert (row.provider, row.status_code, row.stream) == (slug, 200, stream)
    assert (row.input_tokens, row.cached_input_tokens, row.output_tokens) == (inp, cached, out)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_chat_caller_tool_round_trip(client, upstreams, translate, kind, stream):
    model, _, path, _ = UPSTREAMS[kind]
    messages: list[dict] = [{"role": "user", "content": "[[tool]] Weather in Paris?"}]
    first = chat_complete(client, stream, model=model, messages=messages, tools=[CHAT_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_fake1",
        "get_weather",
        {"city": "Paris"},
    )
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "18C and sunny"},
    ]
    second = chat_complete(client, stream, model=model, messages=messages, tools=[CHAT_TOOL])
    assert second.choices[0].message.content == upstreams.reply
    body = sent(upstreams, path)
    if kind == "openai":
        assert body["tools"][0]["name"] == "get_weather" and body["tools"][0]["strict"] is False
        assert body["input"][1:] == [
            {"type": "function_call", "call_id": "call_fake1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_fake1", "output": "18C and sunny"},
        ]
    else:
        assert body["messages"][2] == {
            "role": "tool",
            "tool_call_id": "call_fake1",
            "content": "18C and sunny",
        }


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_chat_caller_json_schema(client, upstreams, translate, kind, stream):
    model, _, path, _ = UPSTREAMS[kind]
    messages = [{"role": "user", "content": "Weather as JSON"}]
    if stream:
        with client.chat.completions.stream(model=model, messages=messages, response_format=Weather) as s:
            for _ in s:
                pass
            parsed = s.get_final_completion().choices[0].message.parsed
    else:
        parsed = client.chat.completions.parse(model=model, messages=messages, response_format=Weather)
        parsed = parsed.choices[0].message.parsed
    assert parsed == Weather.model_validate_json(JSON_REPLY)
    body = sent(upstreams, path)
    if kind == "openai":
        fmt = body["text"]["format"]
        assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", "Weather", True)
    else:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "Weather"


# ------------------------------------------------------- responses caller


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_responses_caller_plain_text(client, upstreams, translate, kind, stream):
    model, slug, path, (inp, cached, out) = UPSTREAMS[kind]
    resp = responses_complete(
        client, stream, model=model, instructions="Be kind.", input="Say hello", max_output_tokens=200
    )
    assert resp.status == "completed" and resp.output_text == upstreams.reply
    assert resp.id.startswith("resp_")
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (inp, out)
    assert resp.usage.input_tokens_details.cached_tokens == cached
    assert resp.model_extra["provider"] == slug and resp.model_extra["x_request_id"].startswith("req_")
    body = sent(upstreams, path)
    if kind == "openai":
        assert body["instructions"] == "Be kind."
    else:
        assert body["messages"] == [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Say hello"},
        ]
        if stream:
            assert body["stream_options"] == {"include_usage": True}
    (row,) = wait_for_logs(1)
    assert (row.endpoint, row.provider, row.status_code) == ("responses", slug, 200)
    assert (row.input_tokens, row.output_tokens) == (inp, out)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_responses_caller_tool_round_trip(client, upstreams, translate, kind, stream):
    model, _, path, _ = UPSTREAMS[kind]
    conversation: list = [{"role": "user", "content": "[[tool]] Weather in Paris?"}]
    first = responses_complete(client, stream, model=model, input=conversation, tools=[RESPONSES_TOOL])
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    call = calls[0]
    assert (call.call_id, call.name, json.loads(call.arguments)) == (
        "call_fake1",
        "get_weather",
        {"city": "Paris"},
    )
    conversation += [item.model_dump(exclude_none=True) for item in first.output]
    conversation.append({"type": "function_call_output", "call_id": call.call_id, "output": "18C and sunny"})
    second = responses_complete(client, stream, model=model, input=conversation, tools=[RESPONSES_TOOL])
    assert second.output_text == upstreams.reply
    body = sent(upstreams, path)
    if kind == "openai":
        assert body["input"][-1] == {
            "type": "function_call_output",
            "call_id": "call_fake1",
            "output": "18C and sunny",
        }
    else:
        assert body["messages"][-2]["tool_calls"][0]["id"] == "call_fake1"
        assert body["messages"][-1] == {
            "role": "tool",
            "tool_call_id": "call_fake1",
            "content": "18C and sunny",
        }


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_responses_caller_json_schema(client, upstreams, translate, kind, stream):
    model, _, path, _ = UPSTREAMS[kind]
    if stream:
        with client.responses.stream(model=model, input="Weather as JSON", text_format=Weather) as s:
            for _ in s:
                pass
            parsed = s.get_final_response().output_parsed
    else:
        parsed = client.responses.parse(
            model=model, input="Weather as JSON", text_format=Weather
        ).output_parsed
    assert parsed == Weather.model_validate_json(JSON_REPLY)
    body = sent(upstreams, path)
    if kind == "openai":
        assert body["text"]["format"]["type"] == "json_schema"
    else:
        assert body["response_format"]["json_schema"]["name"] == "Weather"


# ---------------------------------------------------------- reasoning


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_caller_reasoning_round_trip_over_openai(client, upstreams, translate, stream):
    """Encrypted reasoning comes back to the caller and is carried into the next turn."""
    first = responses_complete(
        client, stream, model="o4-mini", input=[{"role": "user", "content": "[[reason]] hi"}]
    )
    reasoning = next(item for item in first.output if item.type == "reasoning")
    assert reasoning.encrypted_content == ENCRYPTED and reasoning.summary[0].text == REASONING
    assert reasoning.id == "rs_fake"  # OpenAI's own item id, which it expects back with the state
    assert upstreams.requests[-1].body["include"] == ["reasoning.encrypted_content"]
    conversation = [{"role": "user", "content": "[[reason]] hi"}]
    conversation += [item.model_dump(exclude_none=True) for item in first.output]
    conversation.append({"role": "user", "content": "and again"})
    responses_complete(client, stream, model="o4-mini", input=conversation)
    replayed = [i for i in upstreams.requests[-1].body["input"] if i.get("type") == "reasoning"]
    assert replayed == [
        {
            "type": "reasoning",
            "id": reasoning.id,
            "summary": [{"type": "summary_text", "text": REASONING}],
            "encrypted_content": ENCRYPTED,
        }
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_deepseek_reasoning_content_reaches_both_callers(client, upstreams, translate, stream):
    resp = responses_complete(client, stream, model="deepseek-chat", input="[[reason]] hi")
    reasoning = next(item for item in resp.output if item.type == "reasoning")
    assert reasoning.content[0].text == REASONING
    completion = chat_complete(
        client, stream, model="deepseek-chat", messages=[{"role": "user", "content": "[[reason]] hi"}]
    )
    if stream:
        # The stream helper keeps unknown delta fields off the snapshot; read the raw chunks.
        chunks = client.chat.completions.create(
            model="deepseek-chat", messages=[{"role": "user", "content": "[[reason]] hi"}], stream=True
        )
        text = "".join(
            getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices
        )
        assert text == REASONING
    else:
        assert completion.choices[0].message.reasoning_content == REASONING


# --------------------------------------------------------- pass-through


def test_chat_caller_over_openai_compatible_uses_pass_through(client, upstreams):
    completion = client.chat.completions.create(
        model="deepseek-chat", messages=[{"role": "user", "content": "hi"}], seed=3, n=1
    )
    assert completion.id == "chatcmpl-fake"  # the upstream's bytes, untouched
    assert upstreams.requests[-1].body["seed"] == 3


# ------------------------------------------------------------- refusals


def test_refusal_is_a_400_naming_the_parameter(client, upstreams):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model="deepseek-chat", input="hi", reasoning={"summary": "auto"})
    err = exc.value.body
    assert err["param"] == "reasoning.summary" and err["code"] == "unsupported_parameter"
    assert upstreams.requests == []


def test_translated_chat_refuses_stop_over_responses_wire(client, upstreams, translate):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": "hi"}], stop=["END"]
        )
    assert exc.value.body["param"] == "stop"
    assert upstreams.requests == []


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_chat_caller_mid_stream_cut_is_an_api_error(client, upstreams, translate, kind):
    model = UPSTREAMS[kind][0]
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "[[cut]] hi"}], stream=True
    )
    with pytest.raises(openai.APIError, match="failed mid-stream") as exc:
        list(stream)
    (row,) = wait_for_logs(1)
    assert row.error_type == "upstream_error"
    assert exc.value.body["request_id"] == row.request_id  # the error event names the call


@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_responses_caller_mid_stream_cut_is_an_error_event(client, upstreams, translate, kind):
    model = UPSTREAMS[kind][0]
    events = list(client.responses.create(model=model, input="[[cut]] hi", stream=True))
    assert events[0].type == "response.created"
    assert events[-1].type == "error" and "failed mid-stream" in events[-1].message
    (row,) = wait_for_logs(1)
    assert events[-1].model_extra["request_id"] == row.request_id


@pytest.mark.parametrize("kind", list(UPSTREAMS))
def test_upstream_error_status_maps_through_the_adapter(client, upstreams, translate, kind):
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model=UPSTREAMS[kind][0], input="[[ctx]] hi")
    assert exc.value.body["code"] == "context_length_exceeded"
