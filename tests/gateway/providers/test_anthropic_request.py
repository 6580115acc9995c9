"""The Anthropic adapter's requests against golden wire shapes (Anthropic's
Messages API docs), and what it refuses up front."""

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
    Role,
    TextDelta,
    TextPart,
    ToolCallStart,
)
from gateway.canonical import Finish as FinishEvent
from gateway.dialects import responses
from gateway.errors import GatewayError
from gateway.providers import anthropic
from tests.gateway.providers.anthropic_helpers import PDF, PNG, TOOL, build, chat_req
from tests.gateway.streams import decode_all

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
        ({"logprobs": True, "top_logprobs": 3}, "logprobs"),
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
