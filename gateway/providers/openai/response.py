"""Kind ``openai``, the answer side of the Responses wire: Responses JSON ->
canonical response, Responses SSE -> canonical events (any byte split).
The request side is ``gateway.providers.openai.request``."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway import logprobs
from gateway.canonical import (
    CanonicalResponse,
    CitationAdded,
    Event,
    Finish,
    FinishReason,
    FunctionCall,
    ImageGenerationCall,
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
    UrlCitation,
    Usage,
    UsageEvent,
    WebSearchCall,
    WebSearchProgress,
)
from gateway.errors import ErrorType, GatewayError
from gateway.providers.openai.wire import count_hosted_calls, usage_from_responses
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
                citations = [x for x in map(citation, c.get("annotations") or []) if x is not None]
                parts.append(
                    TextPart(
                        c.get("text") or "",
                        logprobs=logprobs.from_wire(c.get("logprobs")) or None,
                        citations=citations or None,
                    )
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
    if kind == "web_search_call":
        return web_search_call(raw)
    if kind == "image_generation_call":
        return image_generation_call(raw)
    return None  # other hosted tool calls are not requested by Junction


def citation(raw: Any) -> UrlCitation | None:
    if not isinstance(raw, dict) or raw.get("type") != "url_citation":
        return None
    return UrlCitation(
        url=str(raw.get("url") or ""),
        title=str(raw.get("title") or ""),
        start_index=int(raw.get("start_index") or 0),
        end_index=int(raw.get("end_index") or 0),
    )


def web_search_call(raw: dict[str, Any]) -> WebSearchCall:
    found = raw.get("action")
    action: dict[str, Any] = found if isinstance(found, dict) else {}
    queries = action.get("queries") if isinstance(action.get("queries"), list) else []
    query = action.get("query") or (queries[0] if queries else None)
    sources = [str(s["url"]) for s in action.get("sources") or [] if isinstance(s, dict) and s.get("url")]
    if action.get("type") in ("open_page", "find_in_page") and action.get("url"):
        sources = [action["url"]]
    return WebSearchCall(
        id=raw.get("id"),
        status=str(raw.get("status") or "completed"),
        query=str(query) if query else None,
        sources=sources,
        provider=PROVIDER_KIND,
    )


def image_generation_call(raw: dict[str, Any]) -> ImageGenerationCall:
    fmt = raw.get("output_format")
    return ImageGenerationCall(
        id=raw.get("id"),
        status=str(raw.get("status") or "completed"),
        result=raw.get("result"),
        mime=f"image/{fmt}" if fmt in ("png", "jpeg", "webp") else "image/png",
        revised_prompt=raw.get("revised_prompt"),
        size=raw.get("size"),
        quality=raw.get("quality"),
        output_format=fmt,
        background=raw.get("background"),
    )


def usage_of(response: dict[str, Any]) -> Usage:
    return count_hosted_calls(usage_from_responses(response.get("usage")) or Usage(), response.get("output"))


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
        elif kind in ("response.web_search_call.in_progress", "response.web_search_call.searching"):
            status = kind.rsplit(".", 1)[1]
            events.append(WebSearchProgress(id=str(data.get("item_id") or ""), status=status))
        elif kind == "response.output_text.annotation.added":
            found = citation(data.get("annotation"))
            if found is not None:
                events.append(CitationAdded(found))
        elif kind in (
            "response.image_generation_call.in_progress",
            "response.image_generation_call.generating",
            "response.image_generation_call.partial_image",
        ):
            events.append(
                ImageGenerationProgress(
                    id=str(data.get("item_id") or ""),
                    status=kind.rsplit(".", 1)[1],
                    partial_image_b64=data.get("partial_image_b64"),
                    partial_image_index=int(data.get("partial_image_index") or 0),
                )
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
        elif item.get("type") == "web_search_call":
            call = web_search_call(item)
            events.append(
                WebSearchProgress(
                    id=call.id or "", status=call.status, query=call.query, sources=call.sources
                )
            )
        elif item.get("type") == "image_generation_call":
            image = image_generation_call(item)
            events.append(ImageGenerationProgress(id=image.id or "", status=image.status, call=image))
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
