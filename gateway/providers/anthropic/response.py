"""Anthropic Messages JSON and SSE -> canonical response and events; error mapping."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.canonical import (
    CanonicalResponse,
    CitationAdded,
    Event,
    Finish,
    FinishReason,
    FunctionCall,
    Item,
    Message,
    Part,
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
    WebSearchCall,
    WebSearchProgress,
)
from gateway.errors import ErrorType, GatewayError
from gateway.providers.anthropic import search
from gateway.providers.anthropic.wire import FINISH_REASONS, JSON_TOOL, PROVIDER
from gateway.providers.errors import classify
from gateway.sse import SSEParser


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    cache_read = _int(raw.get("cache_read_input_tokens"))
    cache_write = _int(raw.get("cache_creation_input_tokens"))
    # ``cache_creation`` splits the writes by lifetime (absent: all 5-minute).
    lifetimes = raw.get("cache_creation")
    write_1h = _int(lifetimes.get("ephemeral_1h_input_tokens")) if isinstance(lifetimes, dict) else 0
    details = raw.get("output_tokens_details")
    return Usage(
        input_tokens=_int(raw.get("input_tokens")) + cache_read + cache_write,
        cached_input_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=min(write_1h, cache_write),
        output_tokens=_int(raw.get("output_tokens")),
        reasoning_tokens=_int(details.get("thinking_tokens")) if isinstance(details, dict) else 0,
        web_search_calls=_int((raw.get("server_tool_use") or {}).get("web_search_requests")),
    )


def merge_usage(start: dict[str, Any], delta: Any) -> dict[str, Any]:
    """``message_delta`` usage is cumulative: present fields overwrite ``message_start``'s."""
    merged = dict(start)
    if isinstance(delta, dict):
        merged.update({k: val for k, val in delta.items() if val is not None})
    return merged


def finish_reason(stop_reason: Any, *, json_only: bool = False) -> FinishReason:
    if stop_reason == "tool_use" and json_only:
        return FinishReason.STOP
    return FINISH_REASONS.get(stop_reason, FinishReason.STOP)


def parse_response(body: bytes) -> CanonicalResponse:
    data = msgspec.json.decode(body)
    output: list[Item] = []
    text: list[Part] = []
    json_only = False

    def flush() -> None:
        if text:
            output.append(Message(role=Role.ASSISTANT, content=list(text)))
            text.clear()

    searches: dict[str, WebSearchCall] = {}
    for block in data["content"]:
        kind = block.get("type")
        if kind == "text":
            text.append(TextPart(block["text"], citations=search.block_citations(block)))
        elif search.is_search_use(block):
            flush()
            call = search.search_started(block)
            searches[call.id or ""] = call
            output.append(call)
        elif kind == "web_search_tool_result":
            started = searches.get(str(block.get("tool_use_id")))
            if started is not None:
                search.search_finished(started, block)
        elif kind == "tool_use" and block.get("name") == JSON_TOOL:
            json_only = True
            text.append(TextPart(msgspec.json.encode(block.get("input") or {}).decode()))
        elif kind == "tool_use":
            flush()
            output.append(
                FunctionCall(
                    call_id=block["id"],
                    name=block["name"],
                    arguments=msgspec.json.encode(block.get("input") or {}).decode(),
                )
            )
        elif kind == "thinking":
            flush()
            output.append(
                Reasoning(
                    summary=[block.get("thinking") or ""], signature=block.get("signature"), provider=PROVIDER
                )
            )
        elif kind == "redacted_thinking":
            flush()
            output.append(Reasoning(encrypted_content=block.get("data"), redacted=True, provider=PROVIDER))
    flush()
    return CanonicalResponse(
        id=data["id"],
        model=data.get("model") or "",
        output=output,
        usage=usage_from(data.get("usage")),
        finish_reason=finish_reason(data.get("stop_reason"), json_only=json_only),
        stop_sequence=_stop_sequence(data.get("stop_sequence")),
    )


def _stop_sequence(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class StreamDecoder:
    """Anthropic SSE -> canonical events. Blocks are tracked by their index."""

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._blocks: dict[int, str] = {}  # block index -> text|thinking|redacted|tool|json
        self._tool_index: dict[int, int] = {}  # block index -> canonical tool index
        self._signature: dict[int, str] = {}
        self._usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._stop_sequence: str | None = None
        self._json_only = False
        self._done = False
        self._searches: dict[str, WebSearchCall] = {}  # server tool use id -> its search
        self._search_block: dict[int, tuple[str, list[str]]] = {}  # block index -> (id, input JSON)
        self._text_offset = 0  # characters of the current message so far (citations index into it)
        self._cited: dict[int, tuple[int, list[Any]]] = {}  # text block index -> (its start, citations)

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for sse in self._parser.feed(chunk):
            events.extend(self._safe(sse.event, sse.data))
        return events

    def close(self) -> list[Event]:
        events: list[Event] = []
        for sse in self._parser.close():
            events.extend(self._safe(sse.event, sse.data))
        if not self._done:
            self._done = True
            events.append(
                StreamError(
                    GatewayError(
                        ErrorType.UPSTREAM,
                        "Upstream provider 'anthropic' ended the stream before message_stop.",
                        provider=PROVIDER,
                    )
                )
            )
        return events

    def _safe(self, name: str | None, data: str) -> list[Event]:
        """A malformed event ends the stream with an error instead of an exception."""
        try:
            return self._on(name, data)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError, IndexError):
            self._done = True
            message = "Upstream provider 'anthropic' sent an unreadable stream event."
            return [StreamError(GatewayError(ErrorType.UPSTREAM, message, provider=PROVIDER))]

    def _on(self, name: str | None, data: str) -> list[Event]:
        if self._done or not data:
            return []
        payload = msgspec.json.decode(data)
        kind = payload.get("type") if isinstance(payload, dict) else name
        if kind == "message_start":
            message = payload["message"]
            self._usage = dict(message.get("usage") or {})
            return [ResponseStart(id=message["id"], model=message.get("model") or "")]
        if kind == "content_block_start":
            return self._block_start(payload["index"], payload["content_block"])
        if kind == "content_block_delta":
            return self._block_delta(payload["index"], payload["delta"])
        if kind == "content_block_stop":
            return self._block_stop(payload["index"])
        if kind == "message_delta":
            self._usage = merge_usage(self._usage, payload.get("usage"))
            delta = payload.get("delta") or {}
            self._stop_reason = delta.get("stop_reason") or self._stop_reason
            self._stop_sequence = _stop_sequence(delta.get("stop_sequence")) or self._stop_sequence
            return []
        if kind == "message_stop":
            self._done = True
            return [
                UsageEvent(usage_from(self._usage)),
                Finish(finish_reason(self._stop_reason, json_only=self._json_only), self._stop_sequence),
            ]
        if kind == "error":
            self._done = True
            return [StreamError(stream_error(payload))]
        return []  # ping and event types added later

    def _block_start(self, index: int, block: dict[str, Any]) -> list[Event]:
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = "text"
            self._cited[index] = (self._text_offset, list(block.get("citations") or []))
            self._text_offset += len(block.get("text") or "")
            return [TextDelta(block["text"])] if block.get("text") else []
        if kind != "tool_use" or block.get("name") != JSON_TOOL:
            self._text_offset = 0  # any other block ends the message the citations index into
        if search.is_search_use(block):
            self._blocks[index] = "search"
            call = search.search_started(block)
            self._searches[call.id or ""] = call
            self._search_block[index] = (call.id or "", [])
            return [WebSearchProgress(id=call.id or "", status="in_progress")]
        if kind == "web_search_tool_result":
            found = self._searches.get(str(block.get("tool_use_id")))
            if found is None:
                return []
            call = search.search_finished(found, block)
            return [WebSearchProgress(call.id or "", call.status, call.query, list(call.sources))]
        if kind == "thinking":
            self._blocks[index] = "thinking"
            return [ReasoningDelta(block["thinking"])] if block.get("thinking") else []
        if kind == "redacted_thinking":
            self._blocks[index] = "redacted"
            return [ReasoningDone(encrypted_content=block.get("data"), redacted=True, provider=PROVIDER)]
        if kind == "tool_use" and block.get("name") == JSON_TOOL:
            self._blocks[index] = "json"
            self._json_only = True
            return []
        if kind == "tool_use":
            self._blocks[index] = "tool"
            tool_index = len(self._tool_index)
            self._tool_index[index] = tool_index
            return [ToolCallStart(index=tool_index, call_id=block["id"], name=block["name"])]
        return []

    def _block_delta(self, index: int, delta: dict[str, Any]) -> list[Event]:
        kind = delta.get("type")
        block = self._blocks.get(index)
        if kind == "text_delta":
            self._text_offset += len(delta["text"])
            return [TextDelta(delta["text"])]
        if kind == "citations_delta":
            cited = self._cited.get(index)
            if cited is not None:
                cited[1].append(delta.get("citation"))
            return []
        if kind == "input_json_delta":
            text = delta.get("partial_json") or ""
            if not text:
                return []
            if block == "search":
                self._search_block[index][1].append(text)
                return []
            if block == "json":
                self._text_offset += len(text)
            if block == "json":
                return [TextDelta(text)]
            if block == "tool":
                return [ToolCallDelta(index=self._tool_index[index], arguments=text)]
            return []
        if kind == "thinking_delta":
            return [ReasoningDelta(delta["thinking"])] if delta.get("thinking") else []
        if kind == "signature_delta":
            self._signature[index] = self._signature.get(index, "") + (delta.get("signature") or "")
        return []

    def _block_stop(self, index: int) -> list[Event]:
        block = self._blocks.get(index)
        if block == "text":
            start, raw = self._cited.pop(index, (0, []))
            found = [search.citation(c, start, self._text_offset) for c in raw]
            return [CitationAdded(c) for c in found if c is not None]
        if block == "search":
            call_id, parts = self._search_block.pop(index)
            call = self._searches[call_id]
            if parts:
                call = search.search_started({"id": call_id, "input": msgspec.json.decode("".join(parts))})
                self._searches[call_id] = call
            return [WebSearchProgress(id=call_id, status="searching", query=call.query)]
        if block == "thinking":
            return [ReasoningDone(signature=self._signature.get(index), provider=PROVIDER)]
        if block == "tool":
            return [ToolCallDone(index=self._tool_index[index])]
        return []


# ------------------------------------------------------------------ errors


def stream_error(payload: dict[str, Any]) -> GatewayError:
    """An ``event: error`` inside a stream (e.g. ``overloaded_error``)."""
    error = payload.get("error")
    err: dict[str, Any] = error if isinstance(error, dict) else {}
    kind = err.get("type", "")
    message = str(err.get("message") or "Upstream provider 'anthropic' failed mid-stream.")
    status = ERROR_STATUS.get(kind, 500)
    return classify(
        status=status, message=message, code=None, param=None, headers={}, provider=PROVIDER, raw=payload
    )


# Anthropic's error type -> the HTTP status it is documented with.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def map_error(*, status: int, body: bytes, headers: dict[str, str], provider: str) -> GatewayError:
    raw: Any
    try:
        raw = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        raw = body[:2000].decode("utf-8", errors="replace")
    error = raw.get("error") if isinstance(raw, dict) else None
    err: dict[str, Any] = error if isinstance(error, dict) else {}
    kind = err.get("type") if isinstance(err.get("type"), str) else None
    message = str(err.get("message") or f"Upstream {provider} answered HTTP {status}.")
    if "prompt is too long" in message.lower():
        return GatewayError(
            ErrorType.CONTEXT_LENGTH,
            message,
            status=400,
            param="messages",
            code="context_length_exceeded",
            provider=provider,
            raw=raw,
        )
    if kind == "overloaded_error" and status != 529:
        status = 529
    return classify(
        status=status,
        message=message,
        code=None if kind in ERROR_STATUS else kind,
        param=None,
        headers=headers,
        provider=provider,
        raw=raw,
    )
