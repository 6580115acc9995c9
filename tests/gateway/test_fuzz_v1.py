"""Every /v1 body gets a 2xx or a 4xx, never a 5xx: valid bodies of the three
dialects, mutated by hypothesis (``tests.fuzz``), sent to the live server in
front of the fake OpenAI and Anthropic upstreams."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import EXAMPLES, mutated, nested

pytestmark = pytest.mark.django_db(transaction=True)

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

CHAT = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"P"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
    ],
    "tools": [{"type": "function", "function": {"name": "weather", "parameters": WEATHER}}],
    "tool_choice": "auto",
    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": WEATHER}},
    "temperature": 0.5,
    "max_tokens": 50,
    "stop": ["END"],
    "stream": False,
    "metadata": {"team": "a"},
    "user": "u1",
}

RESPONSES = {
    "model": "gpt-4o-mini",
    "instructions": "Be brief.",
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}]},
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"city":"P"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]},
    ],
    "tools": [{"type": "function", "name": "weather", "parameters": WEATHER}],
    "tool_choice": {"type": "function", "name": "weather"},
    "text": {"format": {"type": "json_schema", "name": "w", "schema": WEATHER}},
    "max_output_tokens": 50,
    "metadata": {"team": "a"},
}

MESSAGES = {
    "model": "claude-haiku-4-5",
    "max_tokens": 50,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "P"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "sunny"}]},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            ],
        },
    ],
    "tools": [{"name": "weather", "input_schema": WEATHER}],
    "tool_choice": {"type": "auto"},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "metadata": {"user_id": "u1"},
}

ENDPOINTS = {
    "chat": ("/v1/chat/completions", CHAT),
    "responses": ("/v1/responses", RESPONSES),
    "messages": ("/v1/messages", MESSAGES),
}


def _post(junction, api_key, path: str, content: bytes) -> httpx.Response:
    headers = {"authorization": f"Bearer {api_key.secret}", "content-type": "application/json"}
    return httpx.post(f"{junction.url}{path}", headers=headers, content=content, timeout=30)


def _assert_not_5xx(resp: httpx.Response, body: object) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text[:500], body)
    assert resp.headers["content-type"].startswith(("application/json", "text/event-stream")), resp.text[:200]


@pytest.mark.parametrize("dialect", sorted(ENDPOINTS))
def test_valid_sample_bodies_are_answered(junction, api_key, fake_openai, fake_anthropic, dialect):
    path, body = ENDPOINTS[dialect]
    resp = _post(junction, api_key, path, json.dumps(body).encode())
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("dialect", sorted(ENDPOINTS))
def test_mutated_bodies_never_get_a_5xx(junction, api_key, fake_openai, fake_anthropic, dialect):
    path, valid = ENDPOINTS[dialect]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=mutated(valid), model=st.sampled_from(["gpt-4o-mini", "claude-haiku-4-5", None]))
    def check(body: dict, model: str | None) -> None:
        if model is not None and isinstance(body, dict):
            body["model"] = model
        resp = _post(junction, api_key, path, json.dumps(body).encode())
        _assert_not_5xx(resp, body)

    check()


@pytest.mark.parametrize("dialect", sorted(ENDPOINTS))
def test_a_body_nested_10000_deep_is_a_400(junction, api_key, fake_openai, dialect):
    path, _ = ENDPOINTS[dialect]
    resp = _post(junction, api_key, path, nested(10_000))
    assert resp.status_code == 400, resp.text[:300]


@pytest.mark.parametrize("depth", [70, 900])
def test_a_body_nested_past_the_bound_is_a_400_naming_the_field(junction, api_key, fake_openai, depth):
    resp = _post(junction, api_key, "/v1/chat/completions", nested(depth))
    assert resp.status_code == 400
    assert resp.json()["error"]["param"].startswith("metadata.a.a")


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", {**CHAT, "messages": [{"role": [], "content": "x"}]}, "messages[0].role"),
        (
            "/v1/chat/completions",
            {**CHAT, "messages": [{"role": "assistant", "tool_calls": 5}]},
            "messages[0].tool_calls",
        ),
        (
            "/v1/chat/completions",
            {
                **CHAT,
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {"a": 1}}}],
                    }
                ],
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        ("/v1/responses", {**RESPONSES, "input": [{"role": [], "content": "x"}]}, "input[0].role"),
        (
            "/v1/responses",
            {**RESPONSES, "input": [{"role": "user", "content": [{"type": {}}]}]},
            "input[0].content[0].type",
        ),
        ("/v1/responses", {**RESPONSES, "input": [{"type": "reasoning", "summary": 5}]}, "input[0].summary"),
        (
            "/v1/responses",
            {**RESPONSES, "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": 5}]},
            "input[0].arguments",
        ),
        ("/v1/responses", {**RESPONSES, "max_tokens": 10}, "max_tokens"),
        ("/v1/messages", {**MESSAGES, "messages": [{"role": [], "content": "x"}]}, "messages.0.role"),
        ("/v1/messages", {**MESSAGES, "tools": [5]}, "tools.0"),
    ],
)
def test_bodies_that_were_500s_are_400s_naming_the_field(junction, api_key, fake_openai, path, body, param):
    resp = _post(junction, api_key, path, json.dumps(body).encode())
    assert resp.status_code == 400, resp.text[:300]
    error = resp.json()["error"]
    assert error["param"] == param, error
    assert fake_openai.requests == []


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/chat/completions", {**CHAT, "user": "u\x00"}, "user"),
        ("/v1/chat/completions", {**CHAT, "model": "gpt-4o-mini\x00"}, "model"),
        ("/v1/chat/completions", {**CHAT, "metadata": {"k": "v\x00"}}, "metadata.k"),
        ("/v1/responses", {**RESPONSES, "metadata": {"k\x00": "v"}}, "metadata"),
        ("/v1/messages", {**MESSAGES, "metadata": {"user_id": "u\x00"}}, "metadata.user_id"),
    ],
)
def test_nul_characters_in_stored_fields_are_a_400_naming_the_field(
    junction, api_key, fake_openai, path, body, param
):
    resp = _post(junction, api_key, path, json.dumps(body).encode())
    assert resp.status_code == 400, resp.text[:300]
    assert resp.json()["error"]["param"] == param
