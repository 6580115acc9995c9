"""Kind ``openai``, the answer side of the Responses wire: Responses JSON ->
canonical response, Responses SSE -> canonical events (any byte split).
The request side is ``gateway.providers.openai.request``."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway import logprobs
from gateway.canonical import (
    CanonicalResponse,
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
)
from gateway.errors import ErrorType, GatewayError
from gateway.providers.openai.wire import usage_from_responses
from gateway.sse import SSEParser

KIND = "openai"
PROVIDER_KIND = "openai"  # Reasoning.provider for state OpenAI produced


# --------------------------------------------------------------- response


def finish_reason(response: dict[str, Any], saw_call: bool) -> FinishReason:
    status = response.get("status")
    if status == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return FinishReason.CONTENT_FILTER if reason == "content_filter" else FinishReason.LENGTH
    if status == "failed":
        return FinishReason.ERROR
    return FinishReason.TOOL_CALLS if saw_call else FinishReason.STOP


def output_item(raw: dict[str, Any]) -> Item | None:
    kind = raw.get("type")
    if kind == "message":
        parts: list[Part] = []
        for c in raw.get("content") or []:
            if c.get("type") == "output_text":
                parts.append(
                    TextPart(c.get("text") or "", logprobs=logprobs.from_wire(c.get("logprobs")) or None)
                )
            elif c.get("type") == "refusal":
                parts.append(TextPart(c.get("refusal") or ""))
        return Message(role=Role.ASSISTANT, content=parts, id=raw.get("id"))
    if kind == "reasoning":
        text = "".join(c.get("text") or "" for c in raw.get("content") or []) or None
        return Reasoning(
            summary=[s.get("text") or "" for s in raw.get("summary") or []],
            text=text,
            encrypted_content=raw.get("encrypted_content"),
            provider=PROVIDER_KIND,
            id=raw.get("id"),
        )
    if kind == "function_call":
        return FunctionCall(
            call_id=raw["call_id"], name=raw["name"], arguments=raw.get("arguments") or "", id=raw.get("id")
        )
    return None  # hosted tool calls: counted in usage below


def usage_of(response: dict[str, Any]) -> Usage:
    usage = usage_from_responses(response.get("usage")) or Usage()
    for raw in response.get("output") or []:
        if raw.get("type") == "web_search_call":
            usage.web_search_calls += 1
        elif raw.get("type") == "image_generation_call":
            usage.images += 1
    return usage


def parse_response(body: bytes) -> CanonicalResponse:
    data = msgspec.json.decode(body)
    output = [item for item in map(output_item, data["output"]) if item is not None]
    return CanonicalResponse(
        id=str(data.get("id") or ""),
        model=str(data.get("model") or ""),
        output=output,
        usage=usage_of(data),
        finish_reason=finish_reason(data, any(isinstance(i, FunctionCall) for i in output)),
        created=int(data.get("created_at") or 0),
    )


# ----------------------------------------------------------------- stream


def _error(message: str, raw: Any = None, code: str | None = None) -> StreamError:
    return StreamError(
        GatewayError(ErrorType.UPSTREAM, message, code=code or "upstream_error", provider=KIND, raw=raw)
    )


class StreamDecoder:
    """Responses SSE -> canonical events, at any byte split."""

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._done = False
        self._calls: dict[str, int] = {}  # function_call item id (or output index) -> canonical index
        self._args_seen: set[int] = set()
        self._summary_index: dict[str, int] = {}  # reasoning item id -> last summary part index

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for sse in self._sse.feed(chunk):
            if not self._done and sse.data and sse.data != "[DONE]":
                self._event(msgspec.json.decode(sse.data), events)
        return events

    def close(self) -> list[Event]:
        events: list[Event] = []
        for sse in self._sse.close():
            if not self._done and sse.data and sse.data != "[DONE]":
                self._event(msgspec.json.decode(sse.data), events)
        if not self._done:
            self._done = True
            events.append(_error("The upstream stream ended before the response completed."))
        return events

    def _call_key(self, data: dict[str, Any]) -> str:
        return str(data.get("item_id") or data.get("output_index"))

    def _event(self, data: dict[str, Any], events: list[Event]) -> None:
        kind = data.get("type")
        if kind == "response.created":
            r = data.get("response") or {}
            events.append(
                ResponseStart(
                    id=str(r.get("id") or ""),
                    model=str(r.get("model") or ""),
                    created=int(r.get("created_at") or 0),
                )
            )
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            tokens = logprobs.from_wire(data.get("logprobs")) or None
            if data.get("delta") or tokens:
                events.append(TextDelta(data.get("delta") or "", logprobs=tokens))
        elif kind == "response.reasoning_summary_text.delta":
            item_id = str(data.get("item_id"))
            index = int(data.get("summary_index") or 0)
            delta = data.get("delta") or ""
            last = self._summary_index.setdefault(item_id, index)
            if index != last:
                # Canonical reasoning deltas have no part index: parts are
                # joined by a blank line, as the non-streaming summary list reads.
                self._summary_index[item_id] = index
                delta = "\n\n" + delta
            if delta:
                events.append(ReasoningDelta(delta, is_summary=True, id=data.get("item_id")))
        elif kind == "response.reasoning_text.delta":
            if data.get("delta"):
                events.append(ReasoningDelta(data["delta"], is_summary=False, id=data.get("item_id")))
        elif kind == "response.output_item.added":
            item = data.get("item") or {}
            if item.get("type") == "function_call":
                index = len(self._calls)
                self._calls[str(item.get("id") or data.get("output_index"))] = index
                events.append(
                    ToolCallStart(index=index, call_id=item.get("call_id") or "", name=item.get("name") or "")
                )
        elif kind == "response.function_call_arguments.delta":
            known = self._calls.get(self._call_key(data))
            if known is not None and data.get("delta"):
                self._args_seen.add(known)
                events.append(ToolCallDelta(index=known, arguments=data["delta"]))
        elif kind == "response.output_item.done":
            self._item_done(data, events)
        elif kind in ("response.completed", "response.incomplete"):
            self._finish(data.get("response") or {}, events)
        elif kind == "response.failed":
            self._done = True
            r = data.get("response") or {}
            err = r.get("error") or {}
            events.append(
                _error(err.get("message") or "The upstream response failed.", raw=err, code=err.get("code"))
            )
        elif kind == "error":
            self._done = True
            events.append(
                _error(data.get("message") or "The upstream stream failed.", raw=data, code=data.get("code"))
            )

    def _item_done(self, data: dict[str, Any], events: list[Event]) -> None:
        item = data.get("item") or {}
        if item.get("type") == "function_call":
            index = self._calls.get(str(item.get("id") or data.get("output_index")))
            if index is None:
                return
            if index not in self._args_seen and item.get("arguments"):
                events.append(ToolCallDelta(index=index, arguments=item["arguments"]))
            events.append(ToolCallDone(index=index))
        elif item.get("type") == "reasoning":
            events.append(
                ReasoningDone(
                    encrypted_content=item.get("encrypted_content"), provider=PROVIDER_KIND, id=item.get("id")
                )
            )

    def _finish(self, response: dict[str, Any], events: list[Event]) -> None:
        self._done = True
        events.append(UsageEvent(usage_of(response)))
        events.append(Finish(finish_reason(response, bool(self._calls))))
