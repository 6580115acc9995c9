"""Chat Completions and Responses over Anthropic and Gemini upstreams, end to
end with the official OpenAI SDK: plain text, a tool-call round trip and
json_schema output, streamed and not."""

from __future__ import annotations

import json

import openai
import pytest

from tests.fakes import anthropic_upstream, gemini_upstream
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)


UPSTREAMS = {
    "anthropic": ("claude-haiku-4-5", "fake_anthropic"),
    "gemini": ("gemini-2.5-flash", "fake_gemini"),
}
TOOL_PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature": {"type": "integer"}},
    "required": ["city", "temperature"],
    "additionalProperties": False,
}
CHAT_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": TOOL_PARAMS}}
RESPONSES_TOOL = {"type": "function", "name": "get_weather", "parameters": TOOL_PARAMS}


@pytest.fixture(params=list(UPSTREAMS))
def upstream(request):
    model, fixture = UPSTREAMS[request.param]
    return request.param, model, request.getfixturevalue(fixture)


def _chat(client: openai.OpenAI, stream: bool, **kwargs):
    """One chat completion as (text, tool_calls, finish_reason), streamed or not."""
    if not stream:
        choice = client.chat.completions.create(**kwargs).choices[0]
        calls = [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls or []]
        return choice.message.content or "", calls, choice.finish_reason
    text, calls, finish = "", {}, None
    for chunk in client.chat.completions.create(stream=True, **kwargs):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, ["", "", ""])
                entry[0] = call.id or entry[0]
                entry[1] = (call.function and call.function.name) or entry[1]
                entry[2] += (call.function and call.function.arguments) or ""
            finish = choice.finish_reason or finish
    return text, [tuple(v) for _, v in sorted(calls.items())], finish


def _responses(client: openai.OpenAI, stream: bool, **kwargs):
    if not stream:
        return client.responses.create(**kwargs)
    with client.responses.stream(**kwargs) as s:
        return s.get_final_response()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_chat_plain_text(client, upstream, stream):
    name, model, fake = upstream
    text, calls, finish = _chat(
        client, stream, model=model, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert (text, calls, finish) == (fake.reply, [], "stop")
    (row,) = wait_for_logs(1)
    assert (row.provider, row.status_code) == (name, 200) and row.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_chat_tool_round_trip(client, upstream, stream):
    _, model, _ = upstream
    first = [{"role": "user", "content": "Weather? [[tool]]"}]
    _, calls, finish = _chat(client, stream, model=model, messages=first, tools=[CHAT_TOOL])
    assert finish == "tool_calls" and len(calls) == 1
    call_id, fn, arguments = calls[0]
    assert fn == "get_weather" and json.loads(arguments) == {"city": "Paris"}
    follow_up = [
        *first,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": fn, "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
    ]
    text, _, finish = _chat(client, stream, model=model, messages=follow_up, tools=[CHAT_TOOL])
    assert "Tool said:" in text and "sunny" in text and finish == "stop"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_chat_json_schema(client, upstream, stream):
    _, model, _ = upstream
    fmt = {"type": "json_schema", "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True}}
    text, _, _ = _chat(
        client, stream, model=model, messages=[{"role": "user", "content": "JSON"}], response_format=fmt
    )
    assert json.loads(text) == {"city": "Paris", "temperature": 21}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_plain_text(client, upstream, stream):
    _, model, fake = upstream
    response = _responses(client, stream, model=model, input="Say hello")
    assert response.output_text == fake.reply and response.status == "completed"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_tool_round_trip(client, upstream, stream):
    _, model, _ = upstream
    first = [{"role": "user", "content": "Weather? [[tool]]"}]
    response = _responses(client, stream, model=model, input=first, tools=[RESPONSES_TOOL])
    calls = [item for item in response.output if item.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"city": "Paris"}
    follow_up = [
        *first,
        *[item.model_dump(exclude_none=True) for item in response.output],
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"},
    ]
    answer = _responses(client, stream, model=model, input=follow_up, tools=[RESPONSES_TOOL])
    assert "Tool said:" in answer.output_text and "sunny" in answer.output_text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_json_schema(client, upstream, stream):
    _, model, _ = upstream
    fmt = {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}}
    response = _responses(client, stream, model=model, input="JSON", text=fmt)
    assert json.loads(response.output_text) == {"city": "Paris", "temperature": 21}


def test_chat_refusal_names_the_parameter(client, fake_anthropic):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="claude-haiku-4-5", messages=[{"role": "user", "content": "x"}], seed=3
        )
    assert info.value.body["param"] == "seed" and info.value.body["code"] == "unsupported_parameter"
    assert fake_anthropic.requests == []


def test_responses_refusal_names_the_parameter(client, fake_gemini):
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="gemini-2.5-flash", input="x", top_logprobs=3)
    assert info.value.body["param"] == "top_logprobs"
    assert fake_gemini.requests == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_reasoning_state_round_trips_to_anthropic(client, fake_anthropic, stream):
    first = [{"role": "user", "content": "Weather? [[think]] [[tool]]"}]
    kwargs = {"model": "claude-haiku-4-5", "tools": [RESPONSES_TOOL], "reasoning": {"effort": "low"}}
    response = _responses(client, stream, input=first, **kwargs)
    reasoning = next(item for item in response.output if item.type == "reasoning")
    assert reasoning.encrypted_content == "junction:anthropic:" + anthropic_upstream.SIGNATURE
    call = next(item for item in response.output if item.type == "function_call")
    follow_up = [
        *first,
        *[item.model_dump(exclude_none=True) for item in response.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    _responses(client, stream, input=follow_up, **kwargs)
    assistant = fake_anthropic.requests[-1].body["messages"][1]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "Let me think… step one.",
        "signature": anthropic_upstream.SIGNATURE,
    }
    assert fake_anthropic.requests[-1].body["thinking"] == {"type": "enabled", "budget_tokens": 1024}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_responses_thought_signature_round_trips_to_gemini(client, fake_gemini, stream):
    first = [{"role": "user", "content": "Weather? [[tool]]"}]
    response = _responses(client, stream, model="gemini-2.5-flash", input=first, tools=[RESPONSES_TOOL])
    call = next(item for item in response.output if item.type == "function_call")
    follow_up = [
        *first,
        *[item.model_dump(exclude_none=True) for item in response.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    answer = _responses(client, stream, model="gemini-2.5-flash", input=follow_up, tools=[RESPONSES_TOOL])
    assert "sunny" in answer.output_text
    model_turn = fake_gemini.requests[-1].body["contents"][1]
    assert model_turn["parts"][0]["thoughtSignature"] == gemini_upstream.SIGNATURE
    assert model_turn["parts"][0]["functionCall"]["name"] == "get_weather"


def test_chat_reasoning_with_tools_over_anthropic_is_refused_on_the_tool_result_turn(client, fake_anthropic):
    first = [{"role": "user", "content": "Weather? [[think]] [[tool]]"}]
    kwargs = {"model": "claude-haiku-4-5", "tools": [CHAT_TOOL], "reasoning_effort": "low"}
    _, calls, _ = _chat(client, False, messages=first, **kwargs)
    call_id, fn, arguments = calls[0]
    follow_up = [
        *first,
        {
            "role": "assistant",
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": fn, "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny"},
    ]
    with pytest.raises(openai.BadRequestError) as info:
        _chat(client, False, messages=follow_up, **kwargs)
    assert info.value.body["param"] == "reasoning_effort"
    assert len(fake_anthropic.requests) == 1
