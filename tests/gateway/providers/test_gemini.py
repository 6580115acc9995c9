"""The Gemini adapter against golden wire shapes (Gemini API reference)."""

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
from gateway.providers import gemini
from tests.gateway.streams import decode_all, every_split, golden, random_splits

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "Weather", "parameters": PARAMS},
}
BASE = "https://generativelanguage.googleapis.com/v1beta"


def build(req, model: str = "gemini-2.5-flash") -> tuple[str, dict]:
    upstream = gemini.build_request(req, upstream_model=model, base_url=BASE, api_key="AIza-x")
    assert upstream.headers["x-goog-api-key"] == "AIza-x"
    return upstream.url, json.loads(upstream.body)


def chat_req(**body):
    return chat.decode({"model": "gemini-2.5-flash", **body}, {})


def test_golden_request_from_a_chat_conversation():
    req = chat_req(
        messages=[
            {"role": "system", "content": "Be terse."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_a", "content": '{"temp": 21}'},
            {"role": "tool", "tool_call_id": "call_a", "content": "plain"},
        ],
        tools=[TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0.3,
        top_p=0.8,
        max_completion_tokens=500,
        stop=["END"],
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=0.2,
        reasoning_effort="low",
        response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": PARAMS}},
    )
    url, body = build(req)
    assert url == f"{BASE}/models/gemini-2.5-flash:generateContent"
    assert body == {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Weather?"},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                    {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "model",
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                    {"functionResponse": {"name": "get_weather", "response": {"result": "plain"}}},
                ],
            },
        ],
        "systemInstruction": {"parts": [{"text": "Be terse."}]},
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "get_weather", "description": "Weather", "parametersJsonSchema": PARAMS}
                ]
            }
        ],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        "generationConfig": {
            "temperature": 0.3,
            "topP": 0.8,
            "maxOutputTokens": 500,
            "stopSequences": ["END"],
            "seed": 7,
            "presencePenalty": 0.1,
            "frequencyPenalty": 0.2,
            "responseMimeType": "application/json",
            "responseJsonSchema": PARAMS,
            "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
        },
    }


def test_stream_url_and_json_object():
    req = chat_req(
        messages=[{"role": "user", "content": "x"}], stream=True, response_format={"type": "json_object"}
    )
    url, body = build(req)
    assert url == f"{BASE}/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert body["generationConfig"] == {"responseMimeType": "application/json"}


@pytest.mark.parametrize(("mode", "expected"), [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
def test_tool_choice_modes(mode, expected):
    _, body = build(chat_req(messages=[{"role": "user", "content": "x"}], tools=[TOOL], tool_choice=mode))
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": expected}}


def test_thought_signature_rides_on_the_next_model_part():
    resp = gemini.parse_response(golden("gemini_response.json"))
    req = responses.decode({"model": "m", "input": "Weather?"}, {})
    req.items.extend(resp.output)
    _, body = build(req)
    model_turn = body["contents"][1]
    assert model_turn == {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                "thoughtSignature": "CiQB0e2Kb3Jz",
            },
            {"functionCall": {"name": "get_time", "args": {"tz": "Europe/Paris"}}},
        ],
    }


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"logprobs": True}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
        ({"n": 2}, "n"),
        ({"n": 2, "stream": True}, "n"),
        ({"tools": [TOOL], "parallel_tool_calls": False}, "parallel_tool_calls"),
        ({"web_search_options": {"search_context_size": "high"}}, "web_search_options.search_context_size"),
        ({"reasoning_effort": "xhigh"}, "reasoning_effort"),
        ({"stop": ["a", "b", "c", "d", "e", "f"]}, "stop"),
    ],
)
def test_refusals_name_the_parameter(body, param):
    with pytest.raises(GatewayError) as info:
        build(chat_req(messages=[{"role": "user", "content": "x"}], **body))
    assert info.value.status == 400 and info.value.param == param


def test_tool_output_without_its_call_is_refused():
    req = chat_req(
        messages=[{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "nope", "content": "1"}]
    )
    with pytest.raises(GatewayError) as info:
        build(req)
    assert info.value.status == 400 and "nope" in info.value.message


def test_file_ids_are_refused():
    with pytest.raises(GatewayError) as info:
        build(
            chat_req(
                messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-1"}}]}]
            )
        )
    assert info.value.param.endswith("file_id")


# --------------------------------------------------------------- responses


def test_golden_response_is_parsed_with_stable_call_ids():
    resp = gemini.parse_response(golden("gemini_response.json"))
    first, second = (
        gemini.call_id("abcResp1", 0, {"name": "get_weather"}),
        gemini.call_id("abcResp1", 1, {"name": "get_time"}),
    )
    assert first != second and first.startswith("call_")
    assert resp.output == [
        Reasoning(summary=["**Planning the call**"], provider="gemini"),
        Reasoning(signature="CiQB0e2Kb3Jz", provider="gemini"),
        FunctionCall(call_id=first, name="get_weather", arguments='{"city":"Paris"}'),
        FunctionCall(call_id=second, name="get_time", arguments='{"tz":"Europe/Paris"}'),
    ]
    assert resp.finish_reason is FinishReason.TOOL_CALLS
    assert resp.usage == Usage(
        input_tokens=120, cached_input_tokens=100, output_tokens=65, reasoning_tokens=40
    )
    assert resp.model == "gemini-2.5-flash" and resp.id == "abcResp1"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("STOP", FinishReason.STOP),
        ("MAX_TOKENS", FinishReason.LENGTH),
        ("SAFETY", FinishReason.CONTENT_FILTER),
        ("RECITATION", FinishReason.CONTENT_FILTER),
        ("PROHIBITED_CONTENT", FinishReason.CONTENT_FILTER),
    ],
)
def test_finish_reasons(raw, reason):
    assert gemini.finish_reason(raw, has_calls=False) is reason


def test_blocked_prompt_is_content_filter():
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5}}
    resp = gemini.parse_response(json.dumps(body).encode())
    assert resp.finish_reason is FinishReason.CONTENT_FILTER and resp.output == []


CALL_ID = gemini.call_id("mUBbaKnPIfL8xN8P1-7y8Ag", 0, {"name": "get_weather"})
EXPECTED_STREAM = [
    ResponseStart(id="mUBbaKnPIfL8xN8P1-7y8Ag", model="gemini-2.5-flash"),
    ReasoningDelta("Thinking about the weather…"),
    TextDelta("The weather in "),
    TextDelta("Paris is 21°C ☀️."),
    ReasoningDone(signature="CiQB0e2Kb3Jz", provider="gemini"),
    ToolCallStart(index=0, call_id=CALL_ID, name="get_weather"),
    ToolCallDelta(index=0, arguments='{"city":"Lyon"}'),
    ToolCallDone(index=0),
    UsageEvent(Usage(input_tokens=9, cached_input_tokens=2, output_tokens=51, reasoning_tokens=31)),
    FinishEvent(FinishReason.TOOL_CALLS),
]


def test_golden_stream_whole_and_at_every_boundary():
    data = golden("gemini_stream.sse")
    assert decode_all(gemini.StreamDecoder, [data]) == EXPECTED_STREAM
    for chunks in every_split(data):
        assert decode_all(gemini.StreamDecoder, chunks) == EXPECTED_STREAM


def test_golden_stream_random_splits_and_lf_framing():
    data = golden("gemini_stream.sse").replace(b"\r\n", b"\n")
    for chunks in random_splits(data):
        assert decode_all(gemini.StreamDecoder, chunks) == EXPECTED_STREAM


def test_stream_and_json_give_the_same_call_ids():
    chunk = {
        "candidates": [
            {
                "content": {"parts": [{"functionCall": {"name": "f", "args": {}}}], "role": "model"},
                "finishReason": "STOP",
            }
        ],
        "responseId": "r1",
    }
    streamed = decode_all(gemini.StreamDecoder, [b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"])
    parsed = gemini.parse_response(json.dumps(chunk).encode())
    start = next(e for e in streamed if isinstance(e, ToolCallStart))
    assert start.call_id == parsed.output[0].call_id


def test_stream_without_finish_reason_is_an_error():
    data = golden("gemini_stream.sse")
    cut = data[: data.rindex(b"data: ")]
    out = decode_all(gemini.StreamDecoder, [cut])
    assert isinstance(out[-1], StreamError)


def test_error_inside_the_stream():
    data = b'data: {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\r\n\r\n'
    out = decode_all(gemini.StreamDecoder, [data])
    assert isinstance(out[0], StreamError) and out[0].error.type is ErrorType.OVERLOADED


def test_text_response_round_trip_message():
    body = {"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "STOP"}]}
    resp = gemini.parse_response(json.dumps(body).encode())
    assert resp.output == [Message(role=Role.ASSISTANT, content=[TextPart("Hi")])]
    assert resp.finish_reason is FinishReason.STOP


# ------------------------------------------------------------------ errors


def google_error(code: int, status: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "status": status}}).encode()


def test_error_mapping():
    err = gemini.map_error(
        status=429, body=google_error(429, "RESOURCE_EXHAUSTED", "quota"), headers={}, provider="gemini"
    )
    assert (err.type, err.retryable) == (ErrorType.RATE_LIMIT, True)
    err = gemini.map_error(
        status=503, body=google_error(503, "UNAVAILABLE", "overloaded"), headers={}, provider="gemini"
    )
    assert (err.type, err.status) == (ErrorType.OVERLOADED, 529)
    body = google_error(
        400,
        "INVALID_ARGUMENT",
        "The input token count (2000000) exceeds the maximum number of tokens allowed (1048576).",
    )
    err = gemini.map_error(status=400, body=body, headers={}, provider="gemini")
    assert err.type is ErrorType.CONTEXT_LENGTH
    err = gemini.map_error(
        status=400, body=google_error(400, "INVALID_ARGUMENT", "bad"), headers={}, provider="gemini"
    )
    assert (err.type, err.status, err.raw["error"]["status"]) == (
        ErrorType.INVALID_REQUEST,
        400,
        "INVALID_ARGUMENT",
    )
    err = gemini.map_error(
        status=403, body=google_error(403, "PERMISSION_DENIED", "key"), headers={}, provider="gemini"
    )
    assert err.status == 502


def test_a_closing_signature_goes_back_on_an_empty_text_part_of_its_own_turn():
    chunks = [
        {"candidates": [{"content": {"parts": [{"text": "Hi there."}], "role": "model"}}], "responseId": "r"},
        {
            "candidates": [
                {
                    "content": {"parts": [{"text": "", "thoughtSignature": "sig-end"}], "role": "model"},
                    "finishReason": "STOP",
                }
            ],
            "responseId": "r",
        },
    ]
    data = b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)
    events = decode_all(gemini.StreamDecoder, [data])
    assert ReasoningDone(signature="sig-end", provider="gemini") in events
    req = chat_req(messages=[{"role": "user", "content": "hi"}])
    req.items += [
        Message(role=Role.ASSISTANT, content=[TextPart("Hi there.")]),
        Reasoning(signature="sig-end", provider="gemini"),
        Message(role=Role.USER, content=[TextPart("and?")]),
    ]
    _, body = build(req)
    assert body["contents"][1] == {
        "role": "model",
        "parts": [{"text": "Hi there."}, {"text": "", "thoughtSignature": "sig-end"}],
    }
    assert "thoughtSignature" not in json.dumps(body["contents"][2])


def test_malformed_chunk_ends_the_stream_with_an_error():
    out = decode_all(
        gemini.StreamDecoder,
        [b'data: {"candidates": [{"content": {"parts": [{"functionCall": {}}]}}]}\r\n\r\n'],
    )
    assert isinstance(out[-1], StreamError) and "unreadable" in out[-1].error.message
