"""The Anthropic adapter against golden wire shapes (Anthropic's Messages API docs)."""

from __future__ import annotations

import json

import pytest

from gateway.canonical import (
    CanonicalRequest,
    Dialect,
    FinishReason,
    FunctionCall,
    Message,
    Reasoning,
    ReasoningDelta,
    ReasoningDone,
    ResponseStart,
    Role,
    StreamError,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
    UsageEvent,
)
from gateway.canonical import Finish as FinishEvent
from gateway.dialects import chat, responses
from gateway.errors import ErrorType, GatewayError
from gateway.providers import anthropic
from tests.gateway.streams import decode_all, every_split, golden, random_splits

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
PDF = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago="
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def build(req: CanonicalRequest, model: str = "claude-sonnet-4-5-20250929", headers=None) -> dict:
    upstream = anthropic.build_request(
        req, upstream_model=model, base_url="https://api.anthropic.com", api_key="sk-ant-x", headers=headers
    )
    assert upstream.url == "https://api.anthropic.com/v1/messages"
    assert upstream.headers["x-api-key"] == "sk-ant-x"
    assert upstream.headers["anthropic-version"] == "2023-06-01"
    return json.loads(upstream.body)


def chat_req(**body) -> CanonicalRequest:
    return chat.decode({"model": "claude-sonnet-4-5", **body}, {})


# ----------------------------------------------------------------- requests


def test_golden_request_from_a_chat_conversation():
    req = chat_req(
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": "Use metric units."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here and in this doc?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    {
                        "type": "file",
                        "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "a.pdf"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "toolu_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "toolu_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "21C"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "19C"},
        ],
        tools=[TOOL],
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0.5,
        top_p=0.9,
        stop=["END"],
        user="user-42",
        metadata={"team": "x"},  # Junction's own (logs); never forwarded
    )
    assert build(req) == {
        "model": "claude-sonnet-4-5-20250929",
        "system": [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Use metric units."}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here and in this doc?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                        "title": "a.pdf",
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Lyon"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21C"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "19C"},
                ],
            },
        ],
        "max_tokens": 64000,
        "tools": [
            {
                "name": "get_weather",
                "input_schema": TOOL["function"]["parameters"],
                "description": "Weather for a city",
            }
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "temperature": 0.5,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-42"},
    }


def test_reasoning_from_anthropic_is_carried_back_with_signature():
    req = CanonicalRequest(
        dialect=Dialect.RESPONSES,
        model="m",
        items=[
            Message(role=Role.USER, content=[TextPart("hi")]),
            Reasoning(summary=["thought"], signature="sig==", provider="anthropic"),
            Reasoning(encrypted_content="opaque", redacted=True, provider="anthropic"),
            Reasoning(summary=["not ours"], encrypted_content="gAAA", provider="openai"),
            FunctionCall(call_id="toolu_9", name="f", arguments=""),
        ],
        stream=True,
    )
    body = build(req)
    assert body["stream"] is True
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "thought", "signature": "sig=="},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "toolu_9", "name": "f", "input": {}},
        ],
    }


@pytest.mark.parametrize(
    ("effort", "budget", "max_tokens"),
    [("low", 1024, 64000), ("medium", 4096, 64000), ("high", 16384, 64000)],
)
def test_reasoning_effort_becomes_a_thinking_budget(effort, budget, max_tokens):
    body = build(chat_req(messages=[{"role": "user", "content": "x"}], reasoning_effort=effort))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
    assert body["max_tokens"] == max_tokens


def test_thinking_budget_stays_below_an_explicit_max_tokens():
    body = build(
        chat_req(messages=[{"role": "user", "content": "x"}], reasoning_effort="high", max_tokens=5000)
    )
    assert body["max_tokens"] == 5000 and body["thinking"]["budget_tokens"] == 4999


def test_reasoning_effort_none_sends_no_thinking_and_unknown_models_get_a_default_max():
    body = build(
        chat_req(messages=[{"role": "user", "content": "x"}], reasoning_effort="none"), model="claude-new-9"
    )
    assert "thinking" not in body and body["max_tokens"] == anthropic.wire.FALLBACK_MAX_TOKENS


def test_json_schema_uses_native_output_config():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}
    req = chat_req(
        messages=[{"role": "user", "content": "x"}],
        response_format={"type": "json_schema", "json_schema": {"name": "out", "schema": schema}},
    )
    assert build(req)["output_config"] == {"format": {"type": "json_schema", "schema": schema}}


def test_json_object_is_a_forced_tool_call_turned_back_into_text():
    body = build(
        chat_req(messages=[{"role": "user", "content": "x"}], response_format={"type": "json_object"})
    )
    assert body["tools"][0]["name"] == anthropic.JSON_TOOL
    assert body["tool_choice"] == {"type": "tool", "name": anthropic.JSON_TOOL}
    answer = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": anthropic.JSON_TOOL, "input": {"a": 1}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    resp = anthropic.parse_response(json.dumps(answer).encode())
    assert resp.output == [Message(role=resp.output[0].role, content=[TextPart('{"a":1}')])]
    assert resp.finish_reason is FinishReason.STOP


def test_json_object_stream_is_text():
    start = {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {"input_tokens": 1}}}
    events = [
        ("message_start", start),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "tool_use", "id": "t", "name": anthropic.JSON_TOOL, "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"a":'},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": "1}"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    data = b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)
    out = decode_all(anthropic.StreamDecoder, [data])
    assert [e.text for e in out if isinstance(e, TextDelta)] == ['{"a":', "1}"]
    assert not any(isinstance(e, ToolCallStart) for e in out)
    assert out[-1] == FinishEvent(FinishReason.STOP)


def test_anthropic_beta_header_is_forwarded():
    upstream = anthropic.build_request(
        chat_req(messages=[{"role": "user", "content": "x"}]),
        upstream_model="m",
        base_url="https://b",
        api_key="k",
        headers={"anthropic-beta": "files-api-2025-04-14"},
    )
    assert upstream.headers["anthropic-beta"] == "files-api-2025-04-14"


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"seed": 1}, "seed"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"frequency_penalty": 0.5}, "frequency_penalty"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"temperature": 1.5}, "temperature"),
        ({"web_search_options": {"search_context_size": "high"}}, "web_search_options.search_context_size"),
        ({"reasoning_effort": "xhigh"}, "reasoning_effort"),
        ({"reasoning_effort": "low", "max_tokens": 1000}, "max_completion_tokens"),
        ({"response_format": {"type": "json_object"}, "tools": [TOOL]}, "response_format"),
        ({"tools": [{"type": "function", "function": {"name": anthropic.JSON_TOOL}}]}, "tools[0]"),
    ],
)
def test_refusals_name_the_parameter(body, param):
    req = chat_req(messages=[{"role": "user", "content": "x"}], **body)
    with pytest.raises(GatewayError) as info:
        build(req)
    assert info.value.status == 400 and info.value.param == param


def test_refusals_use_the_callers_spelling_in_responses():
    req = responses.decode(
        {
            "model": "m",
            "input": "x",
            "text": {"format": {"type": "json_object"}},
            "reasoning": {"effort": "low"},
        },
        {},
    )
    with pytest.raises(GatewayError) as info:
        build(req)
    assert info.value.param == "text.format"


def test_file_ids_and_non_pdf_documents_are_refused():
    with pytest.raises(GatewayError) as info:
        build(
            chat_req(
                messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]
            )
        )
    assert info.value.param.endswith("file_id")
    doc = {"type": "file", "file": {"file_data": "data:text/csv;base64,YSxi"}}
    with pytest.raises(GatewayError):
        build(chat_req(messages=[{"role": "user", "content": [doc]}]))


# --------------------------------------------------------------- responses


def test_golden_message_is_parsed():
    resp = anthropic.parse_response(golden("anthropic_message.json"))
    assert resp.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert resp.output == [
        Reasoning(
            summary=["Let me analyze this step by step..."],
            signature="WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve/op91XWHOEBLLqIOMfFG/UvLEczmEsUjavL",
            provider="anthropic",
        ),
        Reasoning(
            encrypted_content="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP",
            redacted=True,
            provider="anthropic",
        ),
        Message(
            role=resp.output[2].role,
            content=[TextPart("I'll check the current weather in San Francisco for you.")],
        ),
        FunctionCall(
            call_id="toolu_01A09q90qw90lq917835lq9",
            name="get_weather",
            arguments='{"location":"San Francisco, CA","unit":"celsius"}',
        ),
    ]
    assert resp.finish_reason is FinishReason.TOOL_CALLS
    assert resp.usage == Usage(
        input_tokens=3895, cached_input_tokens=1800, output_tokens=503, reasoning_tokens=120
    )


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        ("end_turn", FinishReason.STOP),
        ("stop_sequence", FinishReason.STOP),
        ("max_tokens", FinishReason.LENGTH),
        ("tool_use", FinishReason.TOOL_CALLS),
        ("refusal", FinishReason.CONTENT_FILTER),
    ],
)
def test_finish_reasons(stop, reason):
    assert anthropic.finish_reason(stop) is reason


EXPECTED_STREAM = [
    ResponseStart(id="msg_014p7gG3wDgGV9EUtLvnow3U", model="claude-sonnet-4-5-20250929"),
    ReasoningDelta("I need the weather. "),
    ReasoningDelta("Call the tool."),
    ReasoningDone(signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds", provider="anthropic"),
    TextDelta("Okay, let's check the weather for San Francisco, CA:"),
    ToolCallStart(index=0, call_id="toolu_01T1x1fJ34qAmk2tNTrN7Up6", name="get_weather"),
    ToolCallDelta(index=0, arguments='{"location":'),
    ToolCallDelta(index=0, arguments=' "San Francisc'),
    ToolCallDelta(index=0, arguments='o, CA"}'),
    ToolCallDone(index=0),
    UsageEvent(Usage(input_tokens=582, cached_input_tokens=100, output_tokens=89, cache_write_tokens=10)),
    FinishEvent(FinishReason.TOOL_CALLS),
]


def test_golden_stream_whole():
    assert decode_all(anthropic.StreamDecoder, [golden("anthropic_stream_tool.sse")]) == EXPECTED_STREAM


def test_golden_stream_split_at_every_byte_boundary():
    data = golden("anthropic_stream_tool.sse")
    for chunks in every_split(data):
        assert decode_all(anthropic.StreamDecoder, chunks) == EXPECTED_STREAM


def test_golden_stream_split_at_random_boundaries_with_crlf():
    data = golden("anthropic_stream_tool.sse").replace(b"\n", b"\r\n")
    for chunks in random_splits(data):
        assert decode_all(anthropic.StreamDecoder, chunks) == EXPECTED_STREAM


def test_stream_error_event_and_truncation():
    data = golden("anthropic_stream_tool.sse")
    cut = data[: data.index(b"event: content_block_stop")]
    error = b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    out = decode_all(anthropic.StreamDecoder, [cut + error])
    assert isinstance(out[-1], StreamError) and out[-1].error.type is ErrorType.OVERLOADED
    truncated = decode_all(anthropic.StreamDecoder, [cut])
    assert isinstance(truncated[-1], StreamError) and truncated[-1].error.type is ErrorType.UPSTREAM


# ------------------------------------------------------------------ errors


def err_body(kind: str, message: str) -> bytes:
    return json.dumps(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
    ).encode()


def test_overloaded_529_is_retryable():
    err = anthropic.map_error(
        status=529, body=err_body("overloaded_error", "Overloaded"), headers={}, provider="anthropic"
    )
    assert (err.type, err.status, err.retryable) == (ErrorType.OVERLOADED, 529, True)


def test_rate_limit_keeps_retry_after():
    err = anthropic.map_error(
        status=429,
        body=err_body("rate_limit_error", "slow down"),
        headers={"retry-after": "12"},
        provider="anthropic",
    )
    assert (err.type, err.retry_after, err.retryable) == (ErrorType.RATE_LIMIT, "12", True)


def test_prompt_too_long_is_context_length():
    body = err_body("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum")
    err = anthropic.map_error(status=400, body=body, headers={}, provider="anthropic")
    assert (err.type, err.status, err.code) == (ErrorType.CONTEXT_LENGTH, 400, "context_length_exceeded")
    assert err.raw["error"]["type"] == "invalid_request_error"


def test_upstream_auth_failure_is_a_bad_gateway_not_the_callers_401():
    err = anthropic.map_error(
        status=401,
        body=err_body("authentication_error", "invalid x-api-key"),
        headers={},
        provider="anthropic",
    )
    assert (err.type, err.status) == (ErrorType.UPSTREAM, 502)


def test_non_json_error_body():
    err = anthropic.map_error(status=503, body=b"<html>bad gateway</html>", headers={}, provider="anthropic")
    assert err.status == 502 and err.retryable and "bad gateway" in err.raw


# ----------------------------------------------------- same-wire pass-through


def test_passthrough_rewriter_keeps_bytes_and_merges_extras_at_any_split():
    from gateway.sse import SSEParser

    data = golden("anthropic_stream_tool.sse")
    for chunks in [[data], *every_split(data)]:
        seen: list[Usage] = []

        def on_usage(usage: Usage, seen=seen) -> dict:
            seen.append(usage)
            return {"x_request_id": "req_1", "provider": "anthropic"}

        rewrite = anthropic.passthrough_rewriter(on_usage)
        parser = SSEParser()
        out = b""
        for chunk in chunks:
            out += b"".join(b for b in map(rewrite, parser.feed(chunk)) if b)
        out += b"".join(b for b in map(rewrite, parser.close()) if b)
        before = data.partition(b"event: message_delta")[0]
        assert out.startswith(before)  # every other event is relayed byte for byte
        assert out.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
        delta = json.loads(out.split(b"event: message_delta\ndata: ")[1].split(b"\n\n")[0])
        assert delta["usage"] == {"output_tokens": 89}
        assert delta["x_request_id"] == "req_1" and delta["provider"] == "anthropic"
        assert seen == [
            Usage(input_tokens=582, cached_input_tokens=100, output_tokens=89, cache_write_tokens=10)
        ]


def test_reasoning_with_a_tool_turn_lacking_its_thinking_is_refused_up_front():
    conversation = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
    ]
    with pytest.raises(GatewayError) as info:
        build(chat_req(messages=conversation, tools=[TOOL], reasoning_effort="low"))
    assert info.value.param == "reasoning_effort"
    # Without reasoning the same conversation is fine.
    assert (
        build(chat_req(messages=conversation, tools=[TOOL]))["messages"][1]["content"][0]["type"]
        == "tool_use"
    )


def test_packed_anthropic_state_from_another_dialect_is_carried_back():
    req = responses.decode(
        {
            "model": "m",
            "reasoning": {"effort": "low"},
            "input": [
                {"role": "user", "content": "weather?"},
                {
                    "type": "reasoning",
                    "summary": [{"type": "summary_text", "text": "think"}],
                    "encrypted_content": "junction:anthropic:sig-z",
                },
                {"type": "function_call", "call_id": "t1", "name": "get_weather", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "t1", "output": "sunny"},
            ],
        },
        {},
    )
    body = build(req)
    assert body["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "think",
        "signature": "sig-z",
    }


def test_passthrough_drops_only_thinking_blocks_another_provider_made():
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 10,
        "router_mode": "x",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "", "signature": "junction:gemini:abc"},
                    {"type": "thinking", "thinking": "mine", "signature": "EqQB"},
                    {"type": "text", "text": "Hello"},
                ],
            },
            {"role": "user", "content": "again"},
        ],
    }
    upstream = anthropic.passthrough_request(
        body=body, upstream_model="claude-haiku-4-5-20251001", base_url="https://a", api_key="k", headers={}
    )
    sent = json.loads(upstream.body)
    assert "router_mode" not in sent and sent["model"] == "claude-haiku-4-5-20251001"
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "mine", "signature": "EqQB"},
        {"type": "text", "text": "Hello"},
    ]
    plain = {k: v for k, v in body.items() if k != "messages"} | {
        "messages": [{"role": "user", "content": "x"}]
    }
    raw = anthropic.passthrough_request(
        body=plain, upstream_model="m", base_url="https://a", api_key="k", headers={}
    )
    assert json.loads(raw.body)["messages"] == [{"role": "user", "content": "x"}]


def test_malformed_event_ends_the_stream_with_an_error():
    data = golden("anthropic_stream_tool.sse")
    head = data[: data.index(b"event: content_block_start")]
    out = decode_all(
        anthropic.StreamDecoder,
        [head + b"event: content_block_delta\ndata: {not json\n\n" + data[len(head) :]],
    )
    assert isinstance(out[-1], StreamError) and "unreadable" in out[-1].error.message
    assert not any(isinstance(e, TextDelta) for e in out)
