"""The Messages dialect: decode golden bodies, and encode bytes the official
``anthropic`` SDK parses and accumulates (via a mock transport)."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from gateway.canonical import (
    CanonicalResponse,
    Dialect,
    Finish,
    FinishReason,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImagePart,
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
    ToolChoice,
    ToolChoiceMode,
    Usage,
    UsageEvent,
)
from gateway.dialects import messages
from gateway.errors import ErrorType, GatewayError
from gateway.providers import anthropic as anthropic_wire
from gateway.providers import gemini as gemini_wire

SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}},
    "required": ["a"],
    "additionalProperties": False,
}
BODY = {
    "model": "claude-haiku-4-5",
    "max_tokens": 4096,
    "system": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"},
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Look first.", "signature": "sig1"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "cat"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "a cat"}],
                },
                {"type": "text", "text": "Thanks"},
            ],
        },
    ],
    "tools": [{"name": "lookup", "description": "Look up", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    "temperature": 0.2,
    "top_p": 0.9,
    "top_k": 40,
    "stop_sequences": ["END"],
    "stream": True,
    "metadata": {"user_id": "u-1"},
    "thinking": {"type": "enabled", "budget_tokens": 3000},
}


def test_decode_golden_body():
    req = messages.decode(BODY, {"anthropic-beta": "prompt-caching-2024-07-31"})
    assert req.dialect is Dialect.MESSAGES and req.model == "claude-haiku-4-5"
    assert req.items == [
        Message(
            role=Role.SYSTEM, content=[TextPart("Be terse.", extra={"cache_control": {"type": "ephemeral"}})]
        ),
        Message(
            role=Role.USER,
            content=[
                TextPart("What is in this image?"),
                ImagePart(url="data:image/jpeg;base64,/9j/4AAQ"),
                ImagePart(url="https://example.com/a.jpg"),
            ],
        ),
        Reasoning(summary=["Look first."], signature="sig1", provider="anthropic"),
        Reasoning(encrypted_content="opaque", redacted=True, provider="anthropic"),
        Message(role=Role.ASSISTANT, content=[TextPart("Checking.")]),
        FunctionCall(call_id="toolu_1", name="lookup", arguments='{"q":"cat"}'),
        FunctionCallOutput(call_id="toolu_1", output="a cat"),
        Message(role=Role.USER, content=[TextPart("Thanks")]),
    ]
    assert req.tools == [FunctionTool(name="lookup", description="Look up", parameters={"type": "object"})]
    assert req.tool_choice == ToolChoice(ToolChoiceMode.REQUIRED) and req.parallel_tool_calls is False
    assert (req.temperature, req.top_p, req.top_k, req.stop) == (0.2, 0.9, 40, ["END"])
    assert (req.max_output_tokens, req.stream, req.user, req.reasoning_effort) == (
        4096,
        True,
        "u-1",
        "medium",
    )
    assert req.passthrough_headers == {"anthropic-beta": "prompt-caching-2024-07-31"}


def test_translation_back_to_anthropic_keeps_the_body():
    """Messages -> canonical -> Anthropic reproduces what the caller sent."""
    req = messages.decode(BODY, {})
    upstream = anthropic_wire.build_request(req, upstream_model="claude-x", base_url="https://a", api_key="k")
    sent = json.loads(upstream.body)
    assert sent["system"] == BODY["system"]
    assert sent["thinking"] == BODY["thinking"]
    assert sent["tool_choice"] == BODY["tool_choice"]
    assert sent["messages"][0] == BODY["messages"][0]
    assert sent["messages"][1] == BODY["messages"][1]
    assert sent["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "a cat",
    }


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, "low"),
        ({"type": "enabled", "budget_tokens": 10000}, "high"),
        ({"type": "disabled"}, "none"),
    ],
)
def test_thinking_budget_summarised_as_effort(thinking, effort):
    assert messages.decode({**BODY, "thinking": thinking}, {}).reasoning_effort == effort


@pytest.mark.parametrize(
    ("patch", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": "5"}, "max_tokens"),
        ({"model": None}, "model"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "1", "name": "x"}]}]},
            "messages.0.content.0",
        ),
        ({"tools": [{"type": "bash_20250124", "name": "bash"}]}, "tools.0"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file"}}],
                    }
                ]
            },
            "messages.0.content.0.source",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": [
                                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
                                ],
                            }
                        ],
                    }
                ]
            },
            "messages.0.content.0.content.0",
        ),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"thinking": {"type": "enabled"}}, "thinking.budget_tokens"),
        ({"output_config": {"format": {"type": "xml"}}}, "output_config.format.type"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        ({"temperature": 1.5}, "temperature"),
    ],
)
def test_decode_errors_name_the_field(patch, param):
    body = {**BODY, **patch}
    with pytest.raises(GatewayError) as info:
        messages.decode({k: v for k, v in body.items() if v is not None}, {})
    assert info.value.status == 400 and info.value.param == param


def test_output_config_format_is_json_schema():
    req = messages.decode(
        {**BODY, "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}}, {}
    )
    assert req.output_format.schema == SCHEMA and req.output_format.name == "output"


# --------------------------------------------------------------- responses


RESPONSE = CanonicalResponse(
    id="chatcmpl-abc123",
    model="gpt-4o-mini",
    output=[
        Reasoning(summary=["Think."], signature="s1", provider="anthropic"),
        Message(role=Role.ASSISTANT, content=[TextPart("Let me look.")]),
        FunctionCall(call_id="call_1", name="lookup", arguments='{"q": "cat"}'),
    ],
    usage=Usage(input_tokens=100, cached_input_tokens=40, output_tokens=20, reasoning_tokens=5),
    finish_reason=FinishReason.TOOL_CALLS,
)


def test_encode_response_is_an_sdk_message():
    body = messages.encode_response(RESPONSE, {"x_request_id": "req_1", "provider": "openai"})
    message = anthropic.types.Message.model_validate(json.loads(body))
    assert message.id == "msg_chatcmplabc123" and message.role == "assistant"
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"q": "cat"} and message.content[2].id == "call_1"
    assert message.stop_reason == "tool_use" and message.stop_sequence is None
    assert (
        message.usage.input_tokens,
        message.usage.cache_read_input_tokens,
        message.usage.output_tokens,
    ) == (60, 40, 20)
    assert message.usage.cache_creation_input_tokens == 0
    assert message.model_extra == {"x_request_id": "req_1", "provider": "openai"}


@pytest.mark.parametrize(
    ("reason", "stop"),
    [
        (FinishReason.STOP, "end_turn"),
        (FinishReason.LENGTH, "max_tokens"),
        (FinishReason.CONTENT_FILTER, "refusal"),
    ],
)
def test_stop_reasons(reason, stop):
    resp = CanonicalResponse(
        id="x",
        model="m",
        output=[Message(role=Role.ASSISTANT, content=[TextPart("t")])],
        finish_reason=reason,
    )
    assert json.loads(messages.encode_response(resp, {}))["stop_reason"] == stop


def test_other_providers_reasoning_round_trips_through_the_signature():
    resp = CanonicalResponse(id="x", model="m", output=[Reasoning(signature="g-sig", provider="gemini")])
    block = json.loads(messages.encode_response(resp, {}))["content"][0]
    assert block == {"type": "thinking", "thinking": "", "signature": "junction:gemini:g-sig"}
    back = messages.decode({**BODY, "messages": [{"role": "assistant", "content": [block]}]}, {})
    assert back.items[1] == Reasoning(summary=[""], signature="g-sig", provider="gemini")
    openai_block = {"type": "thinking", "thinking": "s", "signature": "junction:openai:gAAAA"}
    back = messages.decode({**BODY, "messages": [{"role": "assistant", "content": [openai_block]}]}, {})
    assert back.items[1] == Reasoning(summary=["s"], encrypted_content="gAAAA", provider="openai")


# ------------------------------------------------------------------ stream


def encode_stream(events, *, extras=None) -> bytes:
    req = messages.decode({**BODY, "stream": True}, {})
    seen: list[Usage] = []

    def finalize(usage: Usage) -> dict:
        seen.append(usage)
        return extras or {"x_request_id": "req_s", "provider": "gemini"}

    encoder = messages.StreamEncoder(request=req, finalize=finalize)
    out = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    assert len(seen) <= 1
    return out


def sdk_client(data: bytes) -> anthropic.Anthropic:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=data)

    return anthropic.Anthropic(
        api_key="k",
        base_url="http://junction.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def final_message(data: bytes) -> anthropic.types.Message:
    client = sdk_client(data)
    with client.messages.stream(
        model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": "x"}]
    ) as s:
        return s.get_final_message()


TOOL_EVENTS = [
    ResponseStart(id="gen-1", model="gemini-2.5-flash"),
    ReasoningDelta("Hmm, "),
    ReasoningDelta("weather."),
    ReasoningDone(signature="sig-a", provider="anthropic"),
    TextDelta("Checking "),
    TextDelta("now ☀️."),
    ToolCallStart(index=0, call_id="toolu_a", name="get_weather"),
    ToolCallDelta(index=0, arguments='{"city"'),
    ToolCallDelta(index=0, arguments=': "Paris"}'),
    ToolCallDone(index=0),
    ToolCallStart(index=1, call_id="toolu_b", name="get_time"),
    ToolCallDelta(index=1, arguments="{}"),
    ToolCallDone(index=1),
    UsageEvent(Usage(input_tokens=50, cached_input_tokens=10, output_tokens=30)),
    Finish(FinishReason.TOOL_CALLS),
]


def test_stream_encoder_event_sequence():
    data = encode_stream(TOOL_EVENTS)
    names = [frame.split("\n")[0].removeprefix("event: ") for frame in data.decode().split("\n\n") if frame]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",  # signature_delta
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_sdk_accumulates_the_stream_into_the_final_message():
    message = final_message(encode_stream(TOOL_EVENTS))
    assert message.id == "msg_gen1" and message.model == "gemini-2.5-flash"
    thinking, text, call_a, call_b = message.content
    assert (thinking.type, thinking.thinking, thinking.signature) == ("thinking", "Hmm, weather.", "sig-a")
    assert (text.type, text.text) == ("text", "Checking now ☀️.")
    assert (call_a.id, call_a.name, call_a.input) == ("toolu_a", "get_weather", {"city": "Paris"})
    assert (call_b.name, call_b.input) == ("get_time", {})
    assert message.stop_reason == "tool_use"
    assert (
        message.usage.input_tokens,
        message.usage.cache_read_input_tokens,
        message.usage.output_tokens,
    ) == (40, 10, 30)


def test_sdk_sees_extras_on_message_delta():
    client = sdk_client(encode_stream(TOOL_EVENTS, extras={"x_request_id": "req_z", "provider": "gemini"}))
    with client.messages.create(
        model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}], stream=True
    ) as stream:
        events = list(stream)
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.model_extra == {"x_request_id": "req_z", "provider": "gemini"}


def test_plain_text_stream_and_missing_start():
    message = final_message(
        encode_stream([TextDelta("Hi"), TextDelta(" there"), Finish(FinishReason.LENGTH)])
    )
    assert message.content[0].text == "Hi there" and message.stop_reason == "max_tokens"
    assert message.model == "claude-haiku-4-5"


def test_translated_gemini_stream_through_the_sdk():
    """Gemini SSE -> canonical -> Messages SSE -> the SDK's final message."""
    from tests.gateway.streams import decode_all, golden

    events = decode_all(gemini_wire.StreamDecoder, [golden("gemini_stream.sse")])
    message = final_message(encode_stream(events))
    assert [b.type for b in message.content] == ["thinking", "text", "thinking", "tool_use"]
    assert message.content[1].text == "The weather in Paris is 21°C ☀️."
    assert message.content[2].signature == "junction:gemini:CiQB0e2Kb3Jz"
    assert message.content[3].input == {"city": "Lyon"}
    assert message.usage.output_tokens == 51


def test_translated_anthropic_stream_through_the_sdk():
    from tests.gateway.streams import decode_all, golden

    events = decode_all(anthropic_wire.StreamDecoder, [golden("anthropic_stream_tool.sse")])
    message = final_message(encode_stream(events))
    assert message.content[0].signature == "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
    assert message.content[2].input == {"location": "San Francisco, CA"}
    assert message.stop_reason == "tool_use"


def test_stream_error_is_anthropic_error_event_and_the_sdk_raises():
    err = GatewayError(ErrorType.OVERLOADED, "Upstream overloaded.", provider="gemini")
    data = encode_stream([ResponseStart(id="x", model="m"), TextDelta("Hi"), StreamError(err)])
    assert data.endswith(b"\n\n") and b"event: error\n" in data
    assert b"message_stop" not in data
    with pytest.raises(anthropic.APIStatusError) as info:
        final_message(data)
    assert "overloaded_error" in str(info.value)


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (ErrorType.INVALID_REQUEST, "invalid_request_error"),
        (ErrorType.CONTEXT_LENGTH, "invalid_request_error"),
        (ErrorType.AUTHENTICATION, "authentication_error"),
        (ErrorType.PERMISSION, "permission_error"),
        (ErrorType.MODEL_NOT_FOUND, "not_found_error"),
        (ErrorType.REQUEST_TOO_LARGE, "request_too_large"),
        (ErrorType.RATE_LIMIT, "rate_limit_error"),
        (ErrorType.INSUFFICIENT_QUOTA, "billing_error"),
        (ErrorType.UPSTREAM, "api_error"),
        (ErrorType.TIMEOUT, "timeout_error"),
        (ErrorType.OVERLOADED, "overloaded_error"),
    ],
)
def test_error_shape(kind, name):
    err = GatewayError(kind, "boom", param="messages", provider="anthropic", rule_trace=[{"step": "x"}])
    body = json.loads(messages.encode_error(err, "req_9"))
    assert body["type"] == "error" and body["request_id"] == "req_9"
    assert body["error"]["type"] == name and body["error"]["message"] == "boom"
    assert body["error"]["junction_type"] == str(kind) and body["error"]["provider"] == "anthropic"
    assert body["error"]["rule_trace"] == [{"step": "x"}] and body["error"]["http_status"] == err.status


def test_every_error_type_is_mapped():
    assert set(messages.ERROR_TYPES) == set(ErrorType)


def test_anthropic_web_search_server_tool_reaches_anthropic_whole():
    tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    req = messages.decode({**BODY, "tools": [tool], "tool_choice": None, "thinking": None}, {})
    upstream = anthropic_wire.build_request(req, upstream_model="claude-x", base_url="https://a", api_key="k")
    assert json.loads(upstream.body)["tools"] == [tool]
    with pytest.raises(GatewayError) as info:
        gemini_wire.build_request(req, upstream_model="g", base_url="https://g", api_key="k")
    assert (info.value.param, info.value.code) == ("tools[0].max_uses", "unsupported_parameter")
