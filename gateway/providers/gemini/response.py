"""Gemini ``GenerateContentResponse`` (JSON and ``alt=sse`` stream) -> canonical; errors."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import msgspec

from gateway.canonical import (
    CanonicalResponse,
    CitationAdded,
    Event,
    Finish,
    FinishReason,
    FunctionCall,
    ImageGenerationProgress,
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
    WebSearchProgress,
)
from gateway.errors import ErrorType, GatewayError
from gateway.providers.errors import classify
from gateway.providers.gemini import grounding
from gateway.sse import SSEParser

PROVIDER = "gemini"
FINISH_REASONS = {
    "STOP": FinishReason.STOP,
    "MAX_TOKENS": FinishReason.LENGTH,
    "SAFETY": FinishReason.CONTENT_FILTER,
    "RECITATION": FinishReason.CONTENT_FILTER,
    "PROHIBITED_CONTENT": FinishReason.CONTENT_FILTER,
    "BLOCKLIST": FinishReason.CONTENT_FILTER,
    "SPII": FinishReason.CONTENT_FILTER,
    "IMAGE_SAFETY": FinishReason.CONTENT_FILTER,
    "MALFORMED_FUNCTION_CALL": FinishReason.ERROR,
}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from(meta: Any) -> Usage:
    """Thinking tokens are billed as output: output = candidates + thoughts."""
    if not isinstance(meta, dict):
        return Usage()
    thoughts = _int(meta.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=_int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount")),
        cached_input_tokens=_int(meta.get("cachedContentTokenCount")),
        output_tokens=_int(meta.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
    )


def call_id(response_id: str, index: int, call: dict[str, Any]) -> str:
    """Gemini calls carry no id (except where ``id`` is given): derive a stable
    one, the same for the JSON and the streamed form of one answer."""
    if isinstance(call.get("id"), str) and call["id"]:
        return call["id"]
    seed = f"{response_id}:{index}:{call.get('name')}".encode()
    return "call_" + hashlib.sha256(seed).hexdigest()[:24]


def finish_reason(raw: Any, *, has_calls: bool) -> FinishReason:
    reason = FINISH_REASONS.get(raw, FinishReason.STOP)
    if reason is FinishReason.STOP and has_calls:
        return FinishReason.TOOL_CALLS
    return reason


def _candidate(data: dict[str, Any]) -> dict[str, Any]:
    candidates = data.get("candidates")
    return candidates[0] if isinstance(candidates, list) and candidates else {}


def parse_response(body: bytes) -> CanonicalResponse:
    data = msgspec.json.decode(body)
    if "error" in data:
        raise ValueError("error body")
    response_id = data.get("responseId") or "gen-" + secrets.token_hex(12)
    candidate = _candidate(data)
    output: list[Item] = []
    text: list[Part] = []
    calls = images = 0

    def flush() -> None:
        if text:
            output.append(Message(role=Role.ASSISTANT, content=list(text)))
            text.clear()

    for part in (candidate.get("content") or {}).get("parts") or []:
        signature = part.get("thoughtSignature")
        if part.get("thought"):
            flush()
            output.append(Reasoning(summary=[part.get("text") or ""], signature=signature, provider=PROVIDER))
            continue
        if signature:
            flush()
            output.append(Reasoning(signature=signature, provider=PROVIDER))
        if grounding.is_image(part):
            flush()
            output.append(grounding.image_call(response_id, images, part))
            images += 1
            continue
        if "functionCall" in part:
            flush()
            call = part["functionCall"]
            output.append(
                FunctionCall(
                    call_id=call_id(response_id, calls, call),
                    name=call["name"],
                    arguments=msgspec.json.encode(call.get("args") or {}).decode(),
                )
            )
            calls += 1
        elif isinstance(part.get("text"), str):
            text.append(TextPart(part["text"]))
    flush()
    usage = usage_from(data.get("usageMetadata"))
    usage.images = images
    meta = candidate.get("groundingMetadata")
    if grounding.is_grounded(meta):
        usage.web_search_calls = 1  # Google bills grounding per grounded prompt
        messages = [item for item in output if isinstance(item, Message)]
        if messages:
            text_parts = [p for p in messages[0].content if isinstance(p, TextPart)]
            joined = "".join(p.text for m in messages for p in m.content if isinstance(p, TextPart))
            if text_parts:
                text_parts[0].citations = grounding.citations(meta, joined) or None
        output[:0] = grounding.searches(response_id, meta)
    blocked = not candidate and (data.get("promptFeedback") or {}).get("blockReason")
    return CanonicalResponse(
        id=response_id,
        model=data.get("modelVersion") or "",
        output=output,
        usage=usage,
        finish_reason=FinishReason.CONTENT_FILTER
        if blocked
        else finish_reason(candidate.get("finishReason"), has_calls=calls > 0),
    )


class StreamDecoder:
    """``alt=sse``: each event is a whole ``GenerateContentResponse`` with the
    new parts; usage is cumulative; the stream just ends (no terminator)."""

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._id = ""
        self._calls = 0
        self._usage: Any = None
        self._finish: Any = None
        self._blocked = False
        self._done = False
        self._grounding: Any = None  # the last groundingMetadata seen (the final chunk has it whole)
        self._text: list[str] = []  # the answer's text, which grounding segments index
        self._images = 0  # inlineData images so far

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for sse in self._parser.feed(chunk):
            events.extend(self._safe(sse.data))
        return events

    def close(self) -> list[Event]:
        events: list[Event] = []
        for sse in self._parser.close():
            events.extend(self._safe(sse.data))
        if self._done:
            return events
        self._done = True
        if self._finish is None and not self._blocked:
            message = "Upstream provider 'gemini' ended the stream without a finish reason."
            return [*events, StreamError(GatewayError(ErrorType.UPSTREAM, message, provider=PROVIDER))]
        reason = (
            FinishReason.CONTENT_FILTER
            if self._blocked
            else finish_reason(self._finish, has_calls=self._calls > 0)
        )
        usage = usage_from(self._usage)
        usage.images = self._images
        if grounding.is_grounded(self._grounding):
            usage.web_search_calls = 1  # Google bills grounding per grounded prompt
            events.extend(CitationAdded(c) for c in grounding.citations(self._grounding, "".join(self._text)))
            for call in grounding.searches(self._id, self._grounding):
                events.append(WebSearchProgress(call.id or "", "completed", call.query, list(call.sources)))
        return [*events, UsageEvent(usage), Finish(reason)]

    def _safe(self, raw: str) -> list[Event]:
        """A malformed event ends the stream with an error instead of an exception."""
        try:
            return self._on(raw)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError, IndexError):
            self._done = True
            message = "Upstream provider 'gemini' sent an unreadable stream event."
            return [StreamError(GatewayError(ErrorType.UPSTREAM, message, provider=PROVIDER))]

    def _on(self, raw: str) -> list[Event]:
        if self._done or not raw.strip():
            return []
        data = msgspec.json.decode(raw)
        if not isinstance(data, dict):
            return []
        if isinstance(data.get("error"), dict):
            self._done = True
            err = data["error"]
            status = _int(err.get("code")) or 500
            return [StreamError(_classify(status, err, {}, PROVIDER, data))]
        events: list[Event] = []
        if not self._id:
            self._id = data.get("responseId") or "gen-" + secrets.token_hex(12)
            events.append(ResponseStart(id=self._id, model=data.get("modelVersion") or ""))
        if data.get("usageMetadata"):
            self._usage = data["usageMetadata"]
        candidate = _candidate(data)
        if not candidate and (data.get("promptFeedback") or {}).get("blockReason"):
            self._blocked = True
        for part in (candidate.get("content") or {}).get("parts") or []:
            events.extend(self._part(part))
        if candidate.get("finishReason"):
            self._finish = candidate["finishReason"]
        if candidate.get("groundingMetadata"):
            self._grounding = candidate["groundingMetadata"]
        return events

    def _part(self, part: dict[str, Any]) -> list[Event]:
        signature = part.get("thoughtSignature")
        if part.get("thought"):
            events: list[Event] = [ReasoningDelta(part["text"])] if part.get("text") else []
            return [*events, ReasoningDone(signature=signature, provider=PROVIDER)] if signature else events
        events = [ReasoningDone(signature=signature, provider=PROVIDER)] if signature else []
        if grounding.is_image(part):
            image = grounding.image_call(self._id, self._images, part)
            self._images += 1
            return [
                *events,
                ImageGenerationProgress(id=image.id or "", status="in_progress"),
                ImageGenerationProgress(id=image.id or "", status="completed", call=image),
            ]
        if "functionCall" in part:
            call = part["functionCall"]
            index = self._calls
            self._calls += 1
            return [
                *events,
                ToolCallStart(index=index, call_id=call_id(self._id, index, call), name=call["name"]),
                ToolCallDelta(index=index, arguments=msgspec.json.encode(call.get("args") or {}).decode()),
                ToolCallDone(index=index),
            ]
        if part.get("text"):
            self._text.append(part["text"])
            events.append(TextDelta(part["text"]))
        return events


# ------------------------------------------------------------------ errors


def _classify(
    status: int, err: dict[str, Any], headers: dict[str, str], provider: str, raw: Any
) -> GatewayError:
    message = str(err.get("message") or f"Upstream {provider} answered HTTP {status}.")
    if "exceeds the maximum number of tokens" in message.lower():
        return GatewayError(
            ErrorType.CONTEXT_LENGTH,
            message,
            status=400,
            param="messages",
            code="context_length_exceeded",
            provider=provider,
            raw=raw,
        )
    if err.get("status") == "UNAVAILABLE" and status == 503:
        status = 529  # Gemini's "model is overloaded"
    return classify(
        status=status, message=message, code=None, param=None, headers=headers, provider=provider, raw=raw
    )


def map_error(*, status: int, body: bytes, headers: dict[str, str], provider: str) -> GatewayError:
    """Google's ``{"error": {"code", "message", "status"}}`` (sometimes a one-item list of it)."""
    raw: Any
    try:
        raw = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        raw = body[:2000].decode("utf-8", errors="replace")
    if isinstance(raw, list) and raw and isinstance(raw[0], dict):
        raw = raw[0]
    error = raw.get("error") if isinstance(raw, dict) else None
    err: dict[str, Any] = error if isinstance(error, dict) else {}
    return _classify(status, err, headers, provider, raw)
