"""Golden wire tests for the OpenAI adapters: the chat wire (``openai_compatible``)
and the Responses wire (``openai`` translation path)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from gateway.canonical import (
    CanonicalRequest,
    Dialect,
    Finish,
    FinishReason,
    FunctionCall,
    Message,
    Reasoning,
    ReasoningDelta,
    ReasoningDone,
    ResponseStart,
    StreamError,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
    UsageEvent,
)
from gateway.dialects import chat, responses
from gateway.errors import GatewayError
from gateway.providers import openai as openai_responses
from gateway.providers import openai_compatible, provider_adapter
from gateway.sse import SSEParser

FIXTURES = Path(__file__).parent / "fixtures" / "openai"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def build(adapter, req: CanonicalRequest, model: str = "up-model") -> tuple[str, dict]:
    upstream = adapter.build_request(
        req, upstream_model=model, base_url="https://up.test/v1", api_key="sk-up"
    )
    assert upstream.headers["authorization"] == "Bearer sk-up"
    assert upstream.stream is req.stream
    return upstream.url, json.loads(upstream.body)


def decode_all(decoder, chunks: list[bytes]) -> list:
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events + decoder.close()


def split_randomly(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 40))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def test_registry():
    assert provider_adapter("openai") is openai_responses
    assert provider_adapter("openai_compatible") is openai_compatible


def test_fixtures_are_what_the_sdk_parses():
    ChatCompletion.model_validate_json(fixture("chat_completion_tools.json"))
    Response.model_validate_json(fixture("responses_response.json"))
    for ev in SSEParser().feed(fixture("chat_stream_tools.sse")):
        if ev.data != "[DONE]":
            ChatCompletionChunk.model_validate_json(ev.data)
    adapter = TypeAdapter(ResponseStreamEvent)
    for ev in SSEParser().feed(fixture("responses_stream_tools.sse")):
        adapter.validate_json(ev.data)


# ------------------------------------------------------- chat wire: request


CHAT_BODY = {
    "model": "deepseek-chat",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Use metric units."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image_url", "image_url": {"url": "https://img.test/a.png", "detail": "low"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}},
        }
    ],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    },
    "temperature": 0.2,
    "top_p": 0.9,
    "max_completion_tokens": 300,
    "stop": ["END"],
    "seed": 7,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.25,
    "user": "u-1",
    "stream": True,
}


def test_chat_request_round_trip_over_the_chat_wire():
    req = chat.decode(CHAT_BODY, {})
    url, body = build(openai_compatible, req)
    assert url == "https://up.test/v1/chat/completions"
    assert body == {
        "model": "up-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "system", "content": "Use metric units."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": "https://img.test/a.png", "detail": "low"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    },
                    {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": {"type": "object"},
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
        },
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 300,
        "stop": ["END"],
        "seed": 7,
        "presence_penalty": 0.5,
        "frequency_penalty": 0.25,
        "user": "u-1",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_responses_request_over_the_chat_wire():
    req = responses.decode(
        {
            "model": "deepseek-reasoner",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "ok"},
                {"role": "assistant", "content": [{"type": "output_text", "text": "Done."}]},
            ],
            "text": {"format": {"type": "json_object"}},
            "reasoning": {"effort": "high"},
            "max_output_tokens": 50,
        },
        {},
    )
    _, body = build(openai_compatible, req)
    assert body == {
        "model": "up-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            {"role": "assistant", "content": "Done."},
        ],
        "response_format": {"type": "json_object"},
        "max_tokens": 50,
        "reasoning_effort": "high",
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 2}, "n"),
        ({"web_search_options": {}}, "web_search_options"),
    ],
)
def test_chat_wire_refusals(body, param):
    req = chat.decode({"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}, {})
    with pytest.raises(GatewayError) as exc:
        build(openai_compatible, req)
    code = "unsupported_tool" if param == "web_search_options" else "unsupported_parameter"
    assert exc.value.status == 400 and exc.value.param == param and exc.value.code == code


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"reasoning": {"summary": "auto"}}, "reasoning.summary"),
        ({"tools": [{"type": "web_search"}]}, "tools[0]"),
        ({"tools": [{"type": "image_generation"}]}, "tools[0]"),
    ],
)
def test_chat_wire_refusals_from_responses(body, param):
    req = responses.decode({"model": "m", "input": "hi", **body}, {})
    with pytest.raises(GatewayError) as exc:
        build(openai_compatible, req)
    code = "unsupported_tool" if param.startswith("tools") else "unsupported_parameter"
    assert exc.value.param == param and exc.value.code == code


def test_chat_wire_refuses_top_k():
    req = CanonicalRequest(dialect=Dialect.MESSAGES, model="m", top_k=5)
    with pytest.raises(GatewayError) as exc:
        build(openai_compatible, req)
    assert exc.value.param == "top_k"


# ------------------------------------------------------ chat wire: answers


def test_chat_json_parsed():
    resp = openai_compatible.parse_response(fixture("chat_completion_tools.json"))
    assert resp.id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG" and resp.model == "deepseek-reasoner"
    assert resp.finish_reason is FinishReason.TOOL_CALLS
    reasoning, call = resp.output
    assert isinstance(reasoning, Reasoning) and reasoning.text.startswith("The user wants")
    assert call == FunctionCall(call_id="call_abc123", name="get_weather", arguments='{"city":"Paris"}')
    assert resp.usage == Usage(input_tokens=82, cached_input_tokens=64, output_tokens=17, reasoning_tokens=12)


CHAT_STREAM_EVENTS = [
    ResponseStart(id="chatcmpl-123", model="deepseek-reasoner", created=1694268190),
    ReasoningDelta("Need the ", is_summary=False),
    ReasoningDelta("weather ✓.", is_summary=False),
    TextDelta("Checking"),
    ToolCallStart(index=0, call_id="call_abc123", name="get_weather"),
    ToolCallDelta(index=0, arguments='{"city":'),
    ToolCallDelta(index=0, arguments='"Paris"}'),
    ToolCallStart(index=1, call_id="call_def456", name="get_time"),
    ToolCallDelta(index=1, arguments="{}"),
    ToolCallDone(0),
    ToolCallDone(1),
    UsageEvent(Usage(input_tokens=82, cached_input_tokens=64, output_tokens=17, reasoning_tokens=12)),
    Finish(FinishReason.TOOL_CALLS),
]


def test_chat_sse_parsed_whole_and_at_random_splits():
    data = fixture("chat_stream_tools.sse")
    assert decode_all(openai_compatible.StreamDecoder(), [data]) == CHAT_STREAM_EVENTS
    rng = random.Random(1234)
    for _ in range(50):
        assert decode_all(openai_compatible.StreamDecoder(), split_randomly(data, rng)) == CHAT_STREAM_EVENTS


def coalesce(events: list) -> list:
    """Join adjacent text/reasoning deltas (byte splits may cut a delta event only
    at event boundaries, so the decoded events must be identical anyway)."""
    return events


def test_chat_sse_parsed_at_every_byte_boundary():
    data = fixture("chat_stream_tools.sse")
    for cut in range(1, len(data)):
        events = decode_all(openai_compatible.StreamDecoder(), [data[:cut], data[cut:]])
        assert events == CHAT_STREAM_EVENTS, cut


def test_chat_sse_single_bytes_and_crlf():
    data = fixture("chat_stream_tools.sse").replace(b"\n", b"\r\n")
    assert decode_all(openai_compatible.StreamDecoder(), [data[i : i + 1] for i in range(len(data))]) == (
        CHAT_STREAM_EVENTS
    )


def test_chat_sse_error_and_truncation():
    err = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    start = fixture("chat_stream_tools.sse").split(b"\n\n")[0] + b"\n\n"
    events = decode_all(openai_compatible.StreamDecoder(), [start, err])
    assert isinstance(events[-1], StreamError) and events[-1].error.message == "overloaded"
    truncated = decode_all(openai_compatible.StreamDecoder(), [start])
    assert isinstance(truncated[-1], StreamError)


def test_chat_sse_ollama_style_calls_without_index():
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{}"}}]},
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    data = b"".join(b"data: " + json.dumps({"id": "x", "model": "m", **c}).encode() + b"\n\n" for c in chunks)
    events = decode_all(openai_compatible.StreamDecoder(), [data + b"data: [DONE]\n\n"])
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    assert [(s.index, s.call_id, s.name) for s in starts] == [(0, "a", "f"), (1, "b", "g")]
    assert events[-1] == Finish(FinishReason.TOOL_CALLS)


# -------------------------------------------------- responses wire: request


def test_chat_request_round_trip_over_the_responses_wire():
    body = {
        k: v
        for k, v in CHAT_BODY.items()
        if k not in ("stop", "seed", "presence_penalty", "frequency_penalty")
    }
    req = chat.decode({**body, "metadata": {"team": "a"}, "reasoning_effort": "low"}, {})
    url, out = build(openai_responses, req, model="gpt-5")
    assert url == "https://up.test/v1/responses"
    assert out == {
        "model": "gpt-5",
        "input": [
            {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Be brief."}]},
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "Use metric units."}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Weather here?"},
                    {"type": "input_image", "image_url": "https://img.test/a.png", "detail": "low"},
                ],
            },
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_2", "output": "noon"},
        ],
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object"},
                "strict": False,
            }
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "text": {
            "format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True}
        },
        "reasoning": {"effort": "low"},
        "parallel_tool_calls": False,
        "max_output_tokens": 300,
        "temperature": 0.2,
        "top_p": 0.9,
        "metadata": {"team": "a"},
        "user": "u-1",
        "stream": True,
    }


def test_responses_wire_carries_encrypted_reasoning_back():
    req = responses.decode(
        {
            "model": "gpt-4.1",
            "input": [
                {"role": "user", "content": "Hi"},
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "s"}],
                    "encrypted_content": "gAAA",
                },
                {"type": "reasoning", "id": "rs_2", "summary": []},
            ],
            "reasoning": {"summary": "auto"},
        },
        {},
    )
    _, out = build(openai_responses, req, model="gpt-4.1")
    assert out["input"][1] == {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "s"}],
        "encrypted_content": "gAAA",
    }
    assert len(out["input"]) == 2  # state-less reasoning has nothing to resume from
    assert out["include"] == ["reasoning.encrypted_content"] and out["store"] is False
    assert out["reasoning"] == {"summary": "auto"}


def test_responses_wire_skips_other_providers_opaque_state():
    req = CanonicalRequest(
        dialect=Dialect.MESSAGES,
        model="m",
        items=[Reasoning(text="t", signature="sig", provider="anthropic", id="x")],
    )
    _, out = build(openai_responses, req, model="gpt-4.1")
    assert out["input"] == [] and "include" not in out


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"stop": "x"}, "stop"),
        ({"seed": 1}, "seed"),
        ({"presence_penalty": 1}, "presence_penalty"),
        ({"frequency_penalty": 1}, "frequency_penalty"),
        ({"n": 2}, "n"),
    ],
)
def test_responses_wire_refusals(body, param):
    req = chat.decode({"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}, {})
    with pytest.raises(GatewayError) as exc:
        build(openai_responses, req)
    assert exc.value.status == 400 and exc.value.param == param and exc.value.code == "unsupported_parameter"


def test_responses_wire_refuses_top_k():
    with pytest.raises(GatewayError) as exc:
        build(openai_responses, CanonicalRequest(dialect=Dialect.MESSAGES, model="m", top_k=3))
    assert exc.value.param == "top_k"


# -------------------------------------------------- responses wire: answers


def test_responses_json_parsed():
    resp = openai_responses.parse_response(fixture("responses_response.json"))
    assert resp.id.startswith("resp_67cc") and resp.model == "gpt-5-2025-08-07"
    assert resp.finish_reason is FinishReason.TOOL_CALLS
    reasoning, message, call = resp.output
    assert (
        reasoning.summary == ["**Checking weather**"]
        and reasoning.encrypted_content == "gAAAAABoxEncryptedState=="
    )
    assert reasoning.provider == "openai" and reasoning.id == "rs_67ccd3aa3ad08190a1d7b7e3a2e0ac3b"
    assert isinstance(message, Message) and message.content[0].text == "Let me look that up."
    assert call.call_id == "call_abc123" and call.arguments == '{"city":"Paris"}'
    assert resp.usage == Usage(input_tokens=36, output_tokens=87, reasoning_tokens=64)


def test_responses_incomplete_is_length():
    data = json.loads(fixture("responses_response.json"))
    data.update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    assert openai_responses.parse_response(json.dumps(data).encode()).finish_reason is FinishReason.LENGTH


RESPONSES_STREAM_EVENTS = [
    ResponseStart(
        id="resp_67ccfcdd16748190a91872c75d38539e09e4d4aac714747c",
        model="gpt-5-2025-08-07",
        created=1741487325,
    ),
    ReasoningDelta("**Plan**", id="rs_67ccfcdd9c0c8190a7a8e1b2c3d4e5f6"),
    ReasoningDelta("\n\nCall the tool.", id="rs_67ccfcdd9c0c8190a7a8e1b2c3d4e5f6"),
    ReasoningDone(
        encrypted_content="gAAAAABoxEncryptedState==",
        provider="openai",
        id="rs_67ccfcdd9c0c8190a7a8e1b2c3d4e5f6",
    ),
    TextDelta("Hi"),
    TextDelta(" there "),
    TextDelta("✓"),
    ToolCallStart(index=0, call_id="call_abc123", name="get_weather"),
    ToolCallDelta(index=0, arguments='{"city":'),
    ToolCallDelta(index=0, arguments='"Paris"}'),
    ToolCallDone(0),
    UsageEvent(Usage(input_tokens=36, output_tokens=87, reasoning_tokens=64)),
    Finish(FinishReason.TOOL_CALLS),
]


def test_responses_sse_parsed_whole_and_at_random_splits():
    data = fixture("responses_stream_tools.sse")
    assert decode_all(openai_responses.StreamDecoder(), [data]) == RESPONSES_STREAM_EVENTS
    rng = random.Random(99)
    for _ in range(50):
        assert (
            decode_all(openai_responses.StreamDecoder(), split_randomly(data, rng)) == RESPONSES_STREAM_EVENTS
        )


def test_responses_sse_parsed_at_every_byte_boundary():
    data = fixture("responses_stream_tools.sse")
    for cut in range(1, len(data), 7):
        assert (
            decode_all(openai_responses.StreamDecoder(), [data[:cut], data[cut:]]) == RESPONSES_STREAM_EVENTS
        )


def test_responses_sse_error_event_and_truncation():
    data = fixture("responses_stream_tools.sse").split(b"\n\n")
    head = b"\n\n".join(data[:3]) + b"\n\n"
    error = b'event: error\ndata: {"type":"error","code":"server_error","message":"boom","param":null,"sequence_number":3}\n\n'
    events = decode_all(openai_responses.StreamDecoder(), [head, error])
    assert isinstance(events[-1], StreamError) and events[-1].error.message == "boom"
    assert isinstance(decode_all(openai_responses.StreamDecoder(), [head])[-1], StreamError)


# ------------------------------------------------- decoder -> encoder, SDK


def test_deepseek_stream_to_responses_client_via_sdk():
    """A Responses client over a chat upstream: decoder -> encoder -> SDK helper."""
    from tests.gateway.sdk_helpers import sdk_client

    events = decode_all(openai_compatible.StreamDecoder(), [fixture("chat_stream_tools.sse")])
    request = CanonicalRequest(
        dialect=Dialect.RESPONSES, model="deepseek-reasoner", stream=True, include_usage=True
    )
    encoder = responses.StreamEncoder(request=request, finalize=lambda usage: {"x_request_id": "req_x"})
    body = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    with sdk_client(body, stream=True).responses.stream(model="deepseek-reasoner", input="hi") as s:
        final = s.get_final_response()
    assert [i.type for i in final.output] == ["reasoning", "message", "function_call", "function_call"]
    assert final.output[0].content[0].text == "Need the weather ✓."
    assert final.output_text == "Checking"
    assert final.output[2].arguments == '{"city":"Paris"}'
    assert final.usage.input_tokens_details.cached_tokens == 64


def test_responses_stream_to_chat_client_via_sdk():
    from tests.gateway.sdk_helpers import sdk_client

    events = decode_all(openai_responses.StreamDecoder(), [fixture("responses_stream_tools.sse")])
    request = CanonicalRequest(dialect=Dialect.CHAT, model="gpt-5", stream=True, include_usage=True)
    encoder = chat.StreamEncoder(request=request, finalize=lambda usage: {})
    body = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    with sdk_client(body, stream=True).chat.completions.stream(model="gpt-5", messages=[]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "Hi there ✓"
    assert final.choices[0].message.tool_calls[0].function.arguments == '{"city":"Paris"}'
    assert final.usage.completion_tokens_details.reasoning_tokens == 64


def test_chat_web_search_options_become_a_responses_web_search_tool():
    req = chat.decode(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "news?"}],
            "web_search_options": {
                "search_context_size": "low",
                "user_location": {"type": "approximate", "approximate": {"country": "GB", "city": "London"}},
            },
            "response_format": {"type": "json_object"},
        },
        {},
    )
    _, out = build(openai_responses, req, model="gpt-4.1")
    assert out["tools"] == [
        {
            "type": "web_search",
            "search_context_size": "low",
            "user_location": {"type": "approximate", "country": "GB", "city": "London"},
        }
    ]
    assert out["text"] == {"format": {"type": "json_object"}}
    assert "include" not in out  # gpt-4.1 does not reason: no encrypted reasoning to ask for


def test_responses_hosted_tool_calls_are_counted():
    data = json.loads(fixture("responses_response.json"))
    data["output"].insert(0, {"id": "ws_1", "type": "web_search_call", "status": "completed"})
    resp = openai_responses.parse_response(json.dumps(data).encode())
    assert resp.usage.web_search_calls == 1
    assert [type(i).__name__ for i in resp.output] == [
        "WebSearchCall",
        "Reasoning",
        "Message",
        "FunctionCall",
    ]


# ------------------------------------------ reasoning state across providers


def test_openai_state_packed_by_another_dialect_is_replayed_without_an_id():
    """A Messages caller carries OpenAI's state in a thinking signature
    (``junction:openai:<state>``); it has no OpenAI item id to send back."""
    req = CanonicalRequest(
        dialect=Dialect.MESSAGES,
        model="m",
        items=[Reasoning(summary=["s"], signature="junction:openai:gAAA", provider="anthropic")],
    )
    _, out = build(openai_responses, req, model="gpt-5")
    assert out["input"] == [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "s"}], "encrypted_content": "gAAA"}
    ]


def test_responses_caller_carries_another_providers_state_packed():
    from gateway.canonical import CanonicalResponse
    from gateway.reasoning_state import state_for

    resp = CanonicalResponse(
        id="msg_1",
        model="claude",
        output=[Reasoning(summary=["think"], signature="SIG", provider="anthropic")],
    )
    body = json.loads(responses.encode_response(resp, {}))
    item = body["output"][0]
    assert item["encrypted_content"] == "junction:anthropic:SIG"
    # The caller sends the item back; Anthropic's adapter finds its own state,
    # OpenAI's finds none (and sends nothing).
    (decoded,) = responses.decode({"model": "m", "input": [item]}, {}).items
    assert (
        state_for(
            "anthropic",
            signature=decoded.signature,
            encrypted_content=decoded.encrypted_content,
            owner=decoded.provider,
        )
        == "SIG"
    )
    _, out = build(openai_responses, CanonicalRequest(dialect=Dialect.RESPONSES, model="m", items=[decoded]))
    assert out["input"] == []


def test_responses_stream_packs_another_providers_state():
    request = CanonicalRequest(dialect=Dialect.RESPONSES, model="m", stream=True)
    encoder = responses.StreamEncoder(request=request, finalize=lambda usage: {})
    events = [
        ResponseStart("msg_1", "claude"),
        ReasoningDelta("hmm"),
        ReasoningDone(signature="SIG", provider="anthropic"),
        Finish(FinishReason.STOP),
    ]
    body = b"".join(encoder.encode(e) for e in events)
    final = json.loads(SSEParser().feed(body)[-1].data)["response"]
    assert final["output"][0]["encrypted_content"] == "junction:anthropic:SIG"


def test_responses_wire_names_stop_as_the_messages_caller_spelled_it():
    req = CanonicalRequest(dialect=Dialect.MESSAGES, model="m", stop=["END"])
    with pytest.raises(GatewayError) as exc:
        build(openai_responses, req)
    assert exc.value.param == "stop_sequences"


def test_log_probabilities_are_asked_for_on_both_wires():
    req = chat.decode(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "logprobs": True, "top_logprobs": 4},
        {},
    )
    _, out = build(openai_responses, req, model="gpt-4.1")
    assert out["top_logprobs"] == 4 and out["include"] == ["message.output_text.logprobs"]
    req = responses.decode({"model": "m", "input": "hi", "include": ["message.output_text.logprobs"]}, {})
    _, out = build(openai_compatible, req)
    assert out["logprobs"] is True and "top_logprobs" not in out
    req = responses.decode({"model": "m", "input": "hi", "top_logprobs": 2}, {})
    _, out = build(openai_compatible, req)
    assert (out["logprobs"], out["top_logprobs"]) == (True, 2)
