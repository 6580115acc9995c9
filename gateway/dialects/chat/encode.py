"""Canonical response and events -> Chat Completions (``chat.completion`` and
``chat.completion.chunk``), in the exact shapes the official SDKs parse.

Reasoning has no standard Chat Completions field. Junction sends it as
``reasoning_content`` on the message (non-streaming) and on the delta
(streaming), the field DeepSeek introduced and OpenRouter-style clients read;
the official SDK keeps it as an extra attribute. Opaque reasoning state
(OpenAI ``encrypted_content``, Anthropic signatures) cannot be expressed on
this wire and is not sent.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from gateway import logprobs
from gateway.canonical import (
    CanonicalRequest,
    CanonicalResponse,
    CitationAdded,
    Event,
    Finish,
    FinishReason,
    FunctionCall,
    Message,
    Reasoning,
    ReasoningDelta,
    ResponseStart,
    StreamError,
    TextDelta,
    TextPart,
    TokenLogprob,
    ToolCallDelta,
    ToolCallStart,
    UrlCitation,
    Usage,
    UsageEvent,
)
from gateway.dialects.base import Finalize, add_fields
from gateway.dialects.chat.errors import encode_stream_error
from gateway.sse import DONE

_FINISH = {
    FinishReason.STOP: "stop",
    FinishReason.LENGTH: "length",
    FinishReason.TOOL_CALLS: "tool_calls",
    FinishReason.CONTENT_FILTER: "content_filter",
    # A provider-side failure that still ended the answer: the closest honest
    # chat reason is "stop"; the error itself travels as a stream error event.
    FinishReason.ERROR: "stop",
}


def completion_id(upstream_id: str) -> str:
    if upstream_id.startswith("chatcmpl"):
        return upstream_id
    return "chatcmpl-" + (upstream_id or secrets.token_hex(12))


def usage_object(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def finish_reason(resp: CanonicalResponse) -> str:
    reason = resp.finish_reason
    if reason is FinishReason.STOP and any(isinstance(item, FunctionCall) for item in resp.output):
        reason = FinishReason.TOOL_CALLS
    return _FINISH[reason]


def url_annotation(citation: UrlCitation, offset: int = 0) -> dict[str, Any]:
    """Chat's ``url_citation`` annotation; ``offset`` shifts it into the joined content."""
    return {
        "type": "url_citation",
        "url_citation": {
            "url": citation.url,
            "title": citation.title,
            "start_index": citation.start_index + offset,
            "end_index": citation.end_index + offset,
        },
    }


def choice_logprobs(tokens: list[TokenLogprob] | None) -> dict[str, Any] | None:
    """A choice's ``logprobs`` (null unless the answer carries token log probabilities)."""
    return (
        None
        if tokens is None
        else {"content": logprobs.to_wire(tokens, utf8_fallback=False), "refusal": None}
    )


def encode_response(
    resp: CanonicalResponse, extras: Mapping[str, Any], *, request: CanonicalRequest | None = None
) -> bytes:
    texts: list[str] = []
    tokens: list[list[TokenLogprob] | None] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for item in resp.output:
        if isinstance(item, Message):
            offset = sum(map(len, texts))
            for part in item.content:
                if isinstance(part, TextPart):
                    annotations.extend(url_annotation(c, offset) for c in part.citations or [])
                    offset += len(part.text)
                    texts.append(part.text)
                    tokens.append(part.logprobs)
        elif isinstance(item, FunctionCall):
            calls.append(
                {
                    "id": item.call_id,
                    "type": "function",
                    "function": {"name": item.name, "arguments": item.arguments},
                }
            )
        elif isinstance(item, Reasoning):
            text = item.text if item.text is not None else "\n\n".join(item.summary)
            if text:
                reasoning.append(text)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    if annotations:
        message["annotations"] = annotations
    if reasoning:
        message["reasoning_content"] = "\n\n".join(reasoning)
    body: dict[str, Any] = {
        "id": completion_id(resp.id),
        "object": "chat.completion",
        "created": resp.created or int(time.time()),
        "model": resp.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": choice_logprobs(logprobs.joined(tokens)),
                "finish_reason": finish_reason(resp),
            }
        ],
        "usage": usage_object(resp.usage),
    }
    add_fields(body, extras)
    return msgspec.json.encode(body)


class StreamEncoder:
    """Canonical events -> ``chat.completion.chunk`` SSE, ending ``data: [DONE]``.

    The usage-only chunk (``choices: []``) is sent only when the client asked
    for it (``stream_options.include_usage``); Junction's extras then ride on
    it, otherwise on the finish chunk.
    """

    def __init__(
        self,
        *,
        request: CanonicalRequest,
        finalize: Finalize,
        request_id: str = "",
    ) -> None:
        self._request = request
        self._finalize = finalize
        self._request_id = request_id
        self._id = ""
        self._model = request.model
        self._created = 0
        self._usage: Usage | None = None
        self._started = False
        self._ended = False
        self._saw_tool_call = False
        self._text_len = 0  # content characters sent so far
        self._message_start: int | None = None  # where the canonical message being streamed began

    def _chunk(
        self, delta: dict[str, Any], finish: str | None = None, tokens: list[TokenLogprob] | None = None
    ) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": choice_logprobs(tokens), "finish_reason": finish}
            ],
        }

    @staticmethod
    def _sse(data: dict[str, Any]) -> bytes:
        return b"data: " + msgspec.json.encode(data) + b"\n\n"

    def _start(self, event: ResponseStart | None) -> bytes:
        self._started = True
        self._id = completion_id(event.id if event else "")
        if event is not None:
            self._model = event.model or self._model
            self._created = event.created
        self._created = self._created or int(time.time())
        return self._sse(self._chunk({"role": "assistant", "content": "", "refusal": None}))

    def encode(self, event: Event) -> bytes:
        if self._ended:
            return b""
        if isinstance(event, StreamError):
            self._ended = True
            return encode_stream_error(event.error, self._request_id)
        head = b""
        if isinstance(event, ResponseStart):
            return b"" if self._started else self._start(event)
        if not self._started:
            head = self._start(None)
        if isinstance(event, TextDelta):
            if self._message_start is None:
                self._message_start = self._text_len
            self._text_len += len(event.text)
            if not event.text and not event.logprobs:
                return head
            return head + self._sse(self._chunk({"content": event.text}, tokens=event.logprobs))
        if isinstance(event, CitationAdded):
            start = self._text_len if self._message_start is None else self._message_start
            return head + self._sse(self._chunk({"annotations": [url_annotation(event.citation, start)]}))
        if not isinstance(event, (UsageEvent, Finish)):
            self._message_start = None  # anything else ends the message citations index into
        if isinstance(event, ReasoningDelta):
            return head + (self._sse(self._chunk({"reasoning_content": event.text})) if event.text else b"")
        if isinstance(event, ToolCallStart):
            self._saw_tool_call = True
            call = {
                "index": event.index,
                "id": event.call_id,
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            return head + self._sse(self._chunk({"tool_calls": [call]}))
        if isinstance(event, ToolCallDelta):
            if not event.arguments:
                return head
            call = {"index": event.index, "function": {"arguments": event.arguments}}
            return head + self._sse(self._chunk({"tool_calls": [call]}))
        if isinstance(event, UsageEvent):
            self._usage = event.usage
            return head
        if isinstance(event, Finish):
            return head + self._finish(event.reason)
        # ReasoningDone (opaque state has no chat field) and ToolCallDone (the
        # finish chunk closes every call) produce no bytes.
        return head

    def _finish(self, reason: FinishReason) -> bytes:
        self._ended = True
        if reason is FinishReason.STOP and self._saw_tool_call:
            reason = FinishReason.TOOL_CALLS
        usage = self._usage or Usage()
        extras = self._finalize(usage)
        finish = self._chunk({}, _FINISH[reason])
        if not self._request.include_usage:
            add_fields(finish, extras)
            return self._sse(finish) + DONE
        tail = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [],
            "usage": usage_object(usage),
        }
        add_fields(tail, extras)
        return self._sse(finish) + self._sse(tail) + DONE

    def finish(self) -> bytes:
        return b""
