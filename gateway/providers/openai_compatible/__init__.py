"""Provider kind ``openai_compatible``: any Chat Completions server (DeepSeek,
Mistral, OpenRouter, vLLM, Ollama, any base URL).

A chat or embeddings caller is served by the byte pass-through (OpenAI's
wire, ``gateway.providers.openai.passthrough``); a Responses or Messages
caller, or a call a stage must rewrite, by the translation path on the chat
codec in ``gateway.providers.openai.chat``.
"""

from __future__ import annotations

import msgspec

from gateway.canonical import CanonicalRequest, CanonicalResponse, Dialect
from gateway.providers.base import PassThrough, UpstreamRequest
from gateway.providers.openai.chat import (
    ChatStreamDecoder,
    chat_body,
    parse_chat_response,
    refuse_unsupported,
)
from gateway.providers.openai.passthrough import CHAT, EMBEDDINGS
from gateway.providers.openai.wire import auth_headers, map_error

KIND = "openai_compatible"
NATIVE: dict[Dialect, PassThrough] = {Dialect.CHAT: CHAT, Dialect.EMBEDDINGS: EMBEDDINGS}

__all__ = ["KIND", "StreamDecoder", "build_request", "map_error", "parse_response", "passthrough"]


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


def passthrough(dialect: Dialect) -> PassThrough | None:
    return NATIVE.get(dialect)
