"""Shared by the Anthropic adapter's tests: a canonical request built into
Anthropic's wire body, and the fixtures' small payloads."""

from __future__ import annotations

import json

from gateway.canonical import (
    CanonicalRequest,
)
from gateway.dialects import chat
from gateway.providers import anthropic

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
