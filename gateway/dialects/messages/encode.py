"""Canonical response and events -> Anthropic Messages JSON and SSE."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

import msgspec

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
    ReasoningDone,
    ResponseStart,
    StreamError,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
    UsageEvent,
    WebSearchCall,
    WebSearchProgress,
)
from gateway.dialects.base import Finalize, add_fields
from gateway.dialects.messages import search
from gateway.dialects.messages.errors import encode_stream_error
from gateway.reasoning_state import pack
from gateway.sse import encode_event

STOP_REASONS = {
    FinishReason.STOP: "end_turn",
    FinishReason.LENGTH: "max_tokens",
    FinishReason.TOOL_CALLS: "tool_use",
    FinishReason.CONTENT_FILTER: "refusal",
    FinishReason.ERROR: "end_turn",
}


def message_id(upstream_id: str) -> str:
    if upstream_id.startswith("msg_"):
        return upstream_id
    tail = re.sub(r"[^A-Za-z0-9]", "", upstream_id)[-32:]
    return "msg_" + (tail or secrets.token_hex(12))


def usage_body(usage: Usage) -> dict[str, Any]:
    """Anthropic counts cache reads and writes apart from ``input_tokens``; the
    canonical input includes them."""
    body: dict[str, Any] = {
        "input_tokens": max(usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens, 0),
        "output_tokens": usage.output_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
    }
    if usage.cache_write_tokens:
        body["cache_creation"] = {
            "ephemeral_5m_input_tokens": usage.cache_write_tokens - usage.cache_write_1h_tokens,
            "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
        }
    if usage.reasoning_tokens:
        body["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return body


def _tool_input(arguments: str) -> Any:
    if not arguments.strip():
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return {"arguments": arguments}  # keep what the model produced, visibly
    return value if isinstance(value, dict) else {"value": value}


def wire_signature(provider: str | None, signature: str | None, encrypted: str | None) -> str:
    """A thinking block's ``signature``. Another provider's opaque reasoning
    state travels as ``junction:<provider>:<state>`` so that it finds its way
    back to that provider on the next turn (see ``decode.reasoning_item``)."""
    state = signature or encrypted or ""
    if provider in (None, "anthropic"):
        return state
    # Even without state: the block must never pass for an Anthropic one.
    return pack(provider, state)


def _reasoning_block(item: Reasoning) -> dict[str, Any] | None:
    if item.redacted and item.provider in (None, "anthropic"):
        return {"type": "redacted_thinking", "data": item.encrypted_content or ""}
    text = item.text if item.text is not None else "".join(item.summary)
    signature = wire_signature(item.provider, item.signature, item.encrypted_content)
    if not text and not signature:
        return None
    return {"type": "thinking", "thinking": text, "signature": signature}


def content_blocks(resp: CanonicalResponse) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for item in resp.output:
        if isinstance(item, Message):
            for part in item.content:
                if isinstance(part, TextPart):
                    blocks.extend(search.text_blocks(part))
        elif isinstance(item, WebSearchCall):
            blocks.extend(search.search_blocks(item))
        elif isinstance(item, FunctionCall):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": item.call_id,
                    "name": item.name,
                    "input": _tool_input(item.arguments),
                }
            )
        elif isinstance(item, Reasoning):
            block = _reasoning_block(item)
            if block is not None:
                blocks.append(block)
    return blocks


def stop_reason(reason: FinishReason, has_tool_use: bool, stop_sequence: str | None = None) -> str:
    if has_tool_use and reason is FinishReason.STOP:
        return "tool_use"
    if stop_sequence is not None and reason is FinishReason.STOP:
        return "stop_sequence"
    return STOP_REASONS[reason]


def encode_response(
    resp: CanonicalResponse, extras: Mapping[str, Any], *, request: CanonicalRequest | None = None
) -> bytes:
    blocks = content_blocks(resp)
    body: dict[str, Any] = {
        "id": message_id(resp.id),
        "type": "message",
        "role": "assistant",
        "model": resp.model,
        "content": blocks,
        "stop_reason": stop_reason(
            resp.finish_reason, any(b["type"] == "tool_use" for b in blocks), resp.stop_sequence
        ),
        "stop_sequence": resp.stop_sequence,
        "usage": usage_body(resp.usage),
    }
    add_fields(body, extras)
    return msgspec.json.encode(body)


def _event(name: str, data: dict[str, Any]) -> bytes:
    return encode_event(msgspec.json.encode(data), event=name)


class StreamEncoder:
    """Canonical events -> the Messages event sequence the ``anthropic`` SDK
    accumulates: message_start, (content_block_start, ping once, deltas,
    content_block_stop)*, message_delta, message_stop."""

    def __init__(self, *, request: CanonicalRequest, finalize: Finalize, request_id: str = "") -> None:
        self._request = request
        self._finalize = finalize
        self._request_id = request_id
        self._started = False
        self._pinged = False
        self._ended = False
        self._next_index = 0
        self._open: tuple[str, int] | None = None  # (kind, block index) of the open block
        self._tool_blocks: dict[int, int] = {}  # canonical tool index -> block index
        self._usage = Usage()
        self._reason = FinishReason.STOP
        self._stop_sequence: str | None = None
        self._tool_use = False
        self._block_text: list[str] = []  # the open text block's text (citations quote it)
        self._search_block: dict[str, int] = {}  # web search id -> its server_tool_use block index

    def encode(self, event: Event) -> bytes:
        if self._ended:
            return b""
        if isinstance(event, ResponseStart):
            return self._start(event.id, event.model)
        out = b"" if self._started else self._start("", "")
        if isinstance(event, TextDelta):
            if not event.text:
                return out
            out += self._ensure("text", {"type": "text", "text": ""})
            self._block_text.append(event.text)
            return out + self._delta({"type": "text_delta", "text": event.text})
        if isinstance(event, CitationAdded):
            # Anthropic cites the text block the citation sits in: the open one.
            out += self._ensure("text", {"type": "text", "text": ""})
            cited = "".join(self._block_text)[event.citation.start_index : event.citation.end_index]
            return out + self._delta(
                {"type": "citations_delta", "citation": search.location(event.citation, cited)}
            )
        if isinstance(event, WebSearchProgress):
            return out + self._web_search(event)
        if isinstance(event, ReasoningDelta):
            out += self._ensure("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            return out + self._delta({"type": "thinking_delta", "thinking": event.text})
        if isinstance(event, ReasoningDone):
            return out + self._reasoning_done(event)
        if isinstance(event, ToolCallStart):
            self._tool_use = True
            out += self._close()
            block = {"type": "tool_use", "id": event.call_id, "name": event.name, "input": {}}
            out += self._open_block("tool_use", block)
            assert self._open is not None
            self._tool_blocks[event.index] = self._open[1]
            return out
        if isinstance(event, ToolCallDelta):
            index = self._tool_blocks.get(event.index)
            if index is None or not event.arguments:
                return out
            delta = {"type": "input_json_delta", "partial_json": event.arguments}
            return out + _event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            )
        if isinstance(event, ToolCallDone):
            index = self._tool_blocks.get(event.index)
            if self._open is not None and self._open[1] == index:
                return out + self._close()
            return out
        if isinstance(event, UsageEvent):
            self._usage = event.usage
            return out
        if isinstance(event, Finish):
            self._reason, self._stop_sequence = event.reason, event.stop_sequence
            return out
        if isinstance(event, StreamError):
            self._ended = True
            return out + encode_stream_error(event.error, self._request_id)
        return out

    def finish(self) -> bytes:
        if self._ended:
            return b""
        out = b"" if self._started else self._start("", "")
        out += self._close()
        self._ended = True
        usage = usage_body(self._usage)
        data: dict[str, Any] = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason(self._reason, self._tool_use, self._stop_sequence),
                "stop_sequence": self._stop_sequence,
            },
            "usage": usage,
        }
        add_fields(data, self._finalize(self._usage))
        out += _event("message_delta", data)
        return out + _event("message_stop", {"type": "message_stop"})

    # ------------------------------------------------------------ blocks

    def _start(self, upstream_id: str, model: str) -> bytes:
        if self._started:
            return b""
        self._started = True
        message: dict[str, Any] = {
            "id": message_id(upstream_id),
            "type": "message",
            "role": "assistant",
            "model": model or self._request.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"type": "message_start", "message": message})

    def _web_search(self, event: WebSearchProgress) -> bytes:
        """``server_tool_use`` opened when the search starts; its query and the
        ``web_search_tool_result`` block when it ends."""
        out = b""
        if self._open != ("server_tool_use", self._search_block.get(event.id, -1)):
            out += self._close() + self._open_block("server_tool_use", search.server_tool_use(event.id, None))
            assert self._open is not None
            self._search_block[event.id] = self._open[1]
        if event.status in ("in_progress", "searching"):
            return out
        if event.query:
            out += self._delta(
                {
                    "type": "input_json_delta",
                    "partial_json": msgspec.json.encode({"query": event.query}).decode(),
                }
            )
        out += self._close()
        result = search.tool_result(event.id, event.sources)
        return out + self._open_block("web_search_tool_result", result) + self._close()

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        self._block_text = []
        index = self._next_index
        self._next_index += 1
        self._open = (kind, index)
        out = _event(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
        )
        if not self._pinged:
            self._pinged = True
            out += _event("ping", {"type": "ping"})
        return out

    def _ensure(self, kind: str, block: dict[str, Any]) -> bytes:
        if self._open is not None and self._open[0] == kind:
            return b""
        return self._close() + self._open_block(kind, block)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index = self._open[1]
        self._open = None
        return _event("content_block_stop", {"type": "content_block_stop", "index": index})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        assert self._open is not None
        data = {"type": "content_block_delta", "index": self._open[1], "delta": delta}
        return _event("content_block_delta", data)

    def _reasoning_done(self, event: ReasoningDone) -> bytes:
        if event.redacted and event.provider in (None, "anthropic"):
            block = {"type": "redacted_thinking", "data": event.encrypted_content or ""}
            return self._close() + self._open_block("redacted_thinking", block) + self._close()
        signature = wire_signature(event.provider, event.signature, event.encrypted_content)
        if self._open is None or self._open[0] != "thinking":
            if not (event.signature or event.encrypted_content):
                return b""  # nothing to carry and no thinking text to close
            out = self._close() + self._open_block(
                "thinking", {"type": "thinking", "thinking": "", "signature": ""}
            )
        else:
            out = b""
        if signature:
            out += self._delta({"type": "signature_delta", "signature": signature})
        return out + self._close()
