"""A translated Responses answer repeats the request's parameters the same way
JSON and streamed (``response.completed``), field by field, over every
translating upstream, through the official OpenAI SDK."""

from __future__ import annotations

import pytest

from tests.gateway import test_v1_openai_translation as translation

pytestmark = pytest.mark.django_db(transaction=True)

upstreams, translate = translation.upstreams, translation.translate

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    "strict": False,
}
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature_c": {"type": "integer"}},
    "required": ["city", "temperature_c"],
    "additionalProperties": False,
}
REQUEST = {
    "input": "What is the weather?",
    "instructions": "Answer in JSON.",
    "tools": [TOOL],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "text": {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}},
    "temperature": 0.5,
    "top_p": 0.9,
    "max_output_tokens": 3000,
    "metadata": {"team": "search"},
    "user": "user-42",
}
# What each field must read back as (the request, as a Response object spells it).
EXPECTED = {
    "instructions": "Answer in JSON.",
    "tools": [TOOL],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "text": {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}},
    "temperature": 0.5,
    "top_p": 0.9,
    "max_output_tokens": 3000,
    "metadata": {"team": "search"},
    "user": "user-42",
    "store": False,
}
ROUTES = {
    # route -> (model, fixtures, extra request fields and their echo)
    "openai-translated": (
        "gpt-5-mini",
        ("upstreams", "translate"),
        {"reasoning": {"effort": "low", "summary": "auto"}},
    ),
    "openai_compatible": ("mistral-small-latest", ("upstreams",), {}),
    "anthropic": ("claude-haiku-4-5", ("fake_anthropic",), {"reasoning": {"effort": "low", "summary": None}}),
    # Gemini cannot be held to one call per turn (parallel_tool_calls: false is a 400 there).
    "gemini": (
        "gemini-2.5-flash",
        ("fake_gemini",),
        {"reasoning": {"effort": "low", "summary": None}, "parallel_tool_calls": True},
    ),
}


def _dump(response) -> dict:
    return response.model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )  # the fields as they came on the wire


@pytest.mark.parametrize("route", list(ROUTES))
def test_json_and_stream_echo_the_request_alike(request, client, route):
    model, fixtures, extra = ROUTES[route]
    for name in fixtures:
        request.getfixturevalue(name)
    body = {**REQUEST, **extra, "model": model}
    answer = _dump(client.responses.create(**body))
    completed = None
    for event in client.responses.create(stream=True, **body):
        if event.type == "response.completed":
            completed = _dump(event.response)
    assert completed is not None
    expected = {**EXPECTED, **extra}
    for field, value in expected.items():
        assert answer[field] == value, field
        assert completed[field] == value, field
    # Every echoed field (and every other field but the ids, clocks and costs) is the same both ways.
    varying = {"id", "created_at", "output", "latency_ms", "x_request_id", "usage", "cost"}
    assert {k: v for k, v in answer.items() if k not in varying} == {
        k: v for k, v in completed.items() if k not in varying
    }
