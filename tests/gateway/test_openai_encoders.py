"""The chat and responses dialect encoders, read back by the official SDK."""

from __future__ import annotations

import json

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from gateway.canonical import (
    CanonicalRequest,
    CanonicalResponse,
    Dialect,
    Finish,
    FinishReason,
    FunctionCall,
    FunctionTool,
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
from gateway.dialects import chat, responses
from gateway.errors import ErrorType, GatewayError
from gateway.sse import SSEParser
from tests.gateway.sdk_helpers import sdk_client

USAGE = Usage(input_tokens=12, cached_input_tokens=2, output_tokens=30, reasoning_tokens=7)
EXTRAS = {"x_request_id": "req_1", "provider": "deepseek", "latency_ms": 5}


def finalize(usage: Usage) -> dict:
    assert usage == USAGE
    return dict(EXTRAS)


def canonical_response(reason: FinishReason = FinishReason.STOP) -> CanonicalResponse:
    return CanonicalResponse(
        id="abc",
        model="deepseek-chat",
        created=1700000000,
        output=[
            Reasoning(summary=["Thinking."], encrypted_content="gAAAA", provider="openai"),
            Message(role=Role.ASSISTANT, content=[TextPart("Hello "), TextPart("there")]),
            FunctionCall(call_id="call_1", name="get_weather", arguments='{"city":"Paris"}'),
        ],
        usage=USAGE,
        finish_reason=reason,
    )


def events_text_and_tools() -> list:
    return [
        ResponseStart(id="abc", model="gpt-5", created=1700000000),
        ReasoningDelta("Let me "),
        ReasoningDelta("think."),
        ReasoningDone(encrypted_content="gAAAA", provider="openai"),
        TextDelta("Hel"),
        TextDelta("lo"),
        ToolCallStart(index=0, call_id="call_1", name="get_weather"),
        ToolCallDelta(index=0, arguments='{"city":'),
        ToolCallDelta(index=0, arguments='"Paris"}'),
        ToolCallDone(index=0),
        ToolCallStart(index=1, call_id="call_2", name="get_time"),
        ToolCallDelta(index=1, arguments="{}"),
        UsageEvent(USAGE),
        Finish(FinishReason.TOOL_CALLS),
    ]


def encode_all(encoder, events) -> bytes:
    """Encode, and validate every event strictly against the SDK's own types
    (the SDK's stream readers are lenient; these models list what is required)."""
    body = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    stream_event = TypeAdapter(ResponseStreamEvent)
    for ev in SSEParser().feed(body):
        if ev.data == "[DONE]" or '"error"' in ev.data[:20]:
            continue
        if ev.event is not None:
            stream_event.validate_json(ev.data)
        else:
            ChatCompletionChunk.model_validate_json(ev.data)
    return body


# ------------------------------------------------------------------ chat


def test_chat_encode_response_is_a_chat_completion():
    body = chat.encode_response(canonical_response(), EXTRAS)
    ChatCompletion.model_validate_json(body)
    completion = sdk_client(body, stream=False).chat.completions.create(model="m", messages=[])
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Hello there"
    assert choice.message.refusal is None
    call = choice.message.tool_calls[0]
    assert (call.id, call.type, call.function.name, call.function.arguments) == (
        "call_1",
        "function",
        "get_weather",
        '{"city":"Paris"}',
    )
    assert choice.message.reasoning_content == "Thinking."
    assert completion.usage.prompt_tokens == 12
    assert completion.usage.completion_tokens == 30
    assert completion.usage.total_tokens == 42
    assert completion.usage.prompt_tokens_details.cached_tokens == 2
    assert completion.usage.completion_tokens_details.reasoning_tokens == 7
    assert completion.x_request_id == "req_1"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (FinishReason.STOP, "stop"),
        (FinishReason.LENGTH, "length"),
        (FinishReason.CONTENT_FILTER, "content_filter"),
    ],
)
def test_chat_finish_reasons(reason, expected):
    resp = CanonicalResponse(
        id="x", model="m", output=[Message(Role.ASSISTANT, [TextPart("hi")])], finish_reason=reason
    )
    assert json.loads(chat.encode_response(resp, {}))["choices"][0]["finish_reason"] == expected


@pytest.mark.parametrize("include_usage", [True, False])
def test_chat_stream_read_by_sdk_accumulator(include_usage):
    request = CanonicalRequest(dialect=Dialect.CHAT, model="gpt-5", stream=True, include_usage=include_usage)
    encoder = chat.StreamEncoder(request=request, finalize=finalize)
    body = encode_all(encoder, events_text_and_tools())
    assert body.endswith(b"data: [DONE]\n\n")
    chunks = [json.loads(ev.data) for ev in SSEParser().feed(body) if ev.data != "[DONE]"]
    usage_chunks = [c for c in chunks if not c["choices"]]
    finish_chunk = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"])
    if include_usage:
        assert len(usage_chunks) == 1 and usage_chunks[-1] is chunks[-1]
        assert usage_chunks[0]["usage"]["prompt_tokens"] == 12
        assert usage_chunks[0]["x_request_id"] == "req_1"
        assert "x_request_id" not in finish_chunk
    else:
        assert usage_chunks == []
        assert finish_chunk["x_request_id"] == "req_1"
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks if c["choices"])
    assert reasoning == "Let me think."

    client = sdk_client(body, stream=True)
    with client.chat.completions.stream(model="gpt-5", messages=[{"role": "user", "content": "hi"}]) as s:
        for _ in s:
            pass
        final = s.get_final_completion()
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.content == "Hello"
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("call_1", "get_weather", '{"city":"Paris"}'),
        ("call_2", "get_time", "{}"),
    ]
    if include_usage:
        assert final.usage.completion_tokens == 30


def test_chat_stream_error_is_an_sdk_api_error():
    import openai

    request = CanonicalRequest(dialect=Dialect.CHAT, model="m", stream=True)
    encoder = chat.StreamEncoder(request=request, finalize=finalize)
    err = GatewayError(ErrorType.UPSTREAM, "boom", provider="deepseek")
    body = encode_all(encoder, [ResponseStart("a", "m"), TextDelta("x"), StreamError(err), TextDelta("late")])
    assert b"late" not in body and b"[DONE]" not in body
    stream = sdk_client(body, stream=True).chat.completions.create(model="m", messages=[], stream=True)
    with pytest.raises(openai.APIError, match="boom"):
        list(stream)


# ------------------------------------------------------------- responses


def test_responses_encode_response_is_a_response():
    body = responses.encode_response(canonical_response(), EXTRAS)
    Response.model_validate_json(body)
    resp = sdk_client(body, stream=False).responses.create(model="m", input="hi")
    assert resp.id.startswith("resp_")
    assert resp.object == "response" and resp.status == "completed"
    kinds = [item.type for item in resp.output]
    assert kinds == ["reasoning", "message", "function_call"]
    reasoning, message, call = resp.output
    assert reasoning.summary[0].text == "Thinking." and reasoning.encrypted_content == "gAAAA"
    assert message.content[0].text == "Hello there" and message.content[0].annotations == []
    assert (call.call_id, call.name, call.arguments, call.status) == (
        "call_1",
        "get_weather",
        '{"city":"Paris"}',
        "completed",
    )
    assert resp.output_text == "Hello there"
    assert resp.usage.input_tokens == 12 and resp.usage.input_tokens_details.cached_tokens == 2
    assert resp.usage.output_tokens_details.reasoning_tokens == 7 and resp.usage.total_tokens == 42
    assert resp.x_request_id == "req_1"


def test_responses_length_is_incomplete():
    body = json.loads(responses.encode_response(canonical_response(FinishReason.LENGTH), {}))
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}


def test_responses_stream_read_by_sdk_helper():
    request = CanonicalRequest(
        dialect=Dialect.RESPONSES,
        model="gpt-5",
        stream=True,
        include_usage=True,
        instructions="Be brief.",
        tools=[FunctionTool(name="get_weather", parameters={"type": "object"})],
    )
    encoder = responses.StreamEncoder(request=request, finalize=finalize)
    body = encode_all(encoder, events_text_and_tools())
    events = SSEParser().feed(body)
    payloads = [json.loads(ev.data) for ev in events]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert all(ev.event == p["type"] for ev, p in zip(events, payloads, strict=True))
    types = [p["type"] for p in payloads]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    for expected in (
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ):
        assert expected in types, expected

    client = sdk_client(body, stream=True)
    with client.responses.stream(model="gpt-5", input="hi") as s:
        deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
        final = s.get_final_response()
    assert deltas == ["Hel", "lo"]
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call", "function_call"]
    assert final.output[0].summary[0].text == "Let me think."
    assert final.output[0].encrypted_content == "gAAAA"
    assert final.output_text == "Hello"
    assert final.output[2].arguments == '{"city":"Paris"}'
    assert final.output[3].arguments == "{}"
    assert final.usage.output_tokens == 30
    assert final.instructions == "Be brief."
    assert final.tools[0].name == "get_weather"
    assert final.x_request_id == "req_1"

    raw = list(sdk_client(body, stream=True).responses.create(model="gpt-5", input="hi", stream=True))
    assert raw[-1].type == "response.completed"


def test_responses_stream_keeps_upstream_reasoning_ids():
    request = CanonicalRequest(dialect=Dialect.RESPONSES, model="m", stream=True)
    encoder = responses.StreamEncoder(request=request, finalize=lambda usage: {})
    body = encode_all(
        encoder,
        [
            ResponseStart("a", "m"),
            ReasoningDelta("one", id="rs_up1"),
            ReasoningDone(encrypted_content="e1", id="rs_up1"),
            ReasoningDone(encrypted_content="e2", id="rs_up2"),  # no summary: opened and closed at once
            TextDelta("hi"),
            Finish(FinishReason.STOP),
        ],
    )
    with sdk_client(body, stream=True).responses.stream(model="m", input="hi") as s:
        final = s.get_final_response()
    assert [(i.type, i.id) for i in final.output[:2]] == [("reasoning", "rs_up1"), ("reasoning", "rs_up2")]
    assert [i.encrypted_content for i in final.output[:2]] == ["e1", "e2"]


def test_responses_stream_length_is_incomplete():
    request = CanonicalRequest(dialect=Dialect.RESPONSES, model="m", stream=True)
    encoder = responses.StreamEncoder(request=request, finalize=finalize)
    body = encode_all(
        encoder, [ResponseStart("a", "m"), TextDelta("cut"), UsageEvent(USAGE), Finish(FinishReason.LENGTH)]
    )
    with sdk_client(body, stream=True).responses.stream(model="m", input="hi") as s:
        events = list(s)
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_responses_stream_error_event():
    request = CanonicalRequest(dialect=Dialect.RESPONSES, model="m", stream=True)
    encoder = responses.StreamEncoder(request=request, finalize=finalize)
    err = GatewayError(ErrorType.UPSTREAM, "boom", code="upstream_error")
    body = encode_all(encoder, [ResponseStart("a", "m"), TextDelta("x"), StreamError(err)])
    last = SSEParser().feed(body)[-1]
    assert last.event == "error"
    data = json.loads(last.data)
    assert data["message"] == "boom" and data["sequence_number"] == 5
    # The SDK surfaces OpenAI's ``error`` event as a typed event, not an exception.
    events = list(sdk_client(body, stream=True).responses.create(model="m", input="hi", stream=True))
    assert events[-1].type == "error" and events[-1].message == "boom"
