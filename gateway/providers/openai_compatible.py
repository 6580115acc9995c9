"""Provider kind ``openai_compatible``: any Chat Completions server (DeepSeek,
Mistral, OpenRouter, vLLM, Ollama, any base URL).

Used when the caller's dialect is not chat (a Responses or Messages caller),
or when a stage must rewrite the answer; a chat caller is otherwise served by
the byte pass-through in ``gateway.providers.openai``. The wire codec lives in
``gateway.providers.openai_chat``.
"""

from __future__ import annotations

import msgspec

from gateway.canonical import CanonicalRequest, CanonicalResponse
from gateway.providers.base import UpstreamRequest
from gateway.providers.openai import auth_headers, map_error
from gateway.providers.openai_chat import (
    ChatStreamDecoder,
    chat_body,
    parse_chat_response,
    refuse_unsupported,
)

KIND = "openai_compatible"

__all__ = ["KIND", "StreamDecoder", "build_request", "map_error", "parse_response"]


def build_request(
    req: CanonicalRequest,
    *,
    upstream_model: str,
    base_url: str,
    api_key: str,
    headers: dict[str, str] | None = None,
) -> UpstreamRequest:
    # ``headers`` are provider-specific pass-through headers (``anthropic-beta``);
    # a chat server has no use for them.
    refuse_unsupported(req, KIND)
    body = chat_body(req, upstream_model=upstream_model, provider=KIND)
    return UpstreamRequest(
        url=base_url + "/chat/completions",
        body=msgspec.json.encode(body),
        headers=auth_headers(api_key),
        stream=req.stream,
    )


def parse_response(body: bytes) -> CanonicalResponse:
    return parse_chat_response(body)


class StreamDecoder(ChatStreamDecoder):
    def __init__(self) -> None:
        super().__init__(provider=KIND)
