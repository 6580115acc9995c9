"""The Anthropic adapter's answers, streams, errors and same-wire pass-through
against golden wire shapes (Anthropic's Messages API docs)."""

from __future__ import annotations

import json

import pytest

from gateway.canonical import Finish as FinishEvent
from gateway.canonical import (
    FinishReason,
    FunctionCall,
    Message,
    Reasoning,
    ReasoningDelta,
    ReasoningDone,
    ResponseStart,
    StreamError,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
    UsageEvent,
)
from gateway.dialects import responses
from gateway.errors import ErrorType, GatewayError
from gateway.providers import anthropic
from tests.gateway.providers.anthropic_helpers import TOOL, build, chat_req
from tests.gateway.streams import decode_all, every_split, golden, random_splits

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
