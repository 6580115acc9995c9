"""Provider kind ``openai``, translation path: canonical request -> the Responses
API, Responses JSON -> canonical response, Responses SSE -> canonical events.

Used when the caller's dialect is not OpenAI's (a Messages caller), or when a
stage must rewrite the answer (then a chat caller is served from Responses
too). Requests are stateless: ``store: false``, and for reasoning models
``include: ["reasoning.encrypted_content"]`` so reasoning state comes back
with the answer and is carried into the next turn inside the input items.

Refused (the Responses API has no such parameter): ``stop``, ``seed``,
``presence_penalty``, ``frequency_penalty``, ``n`` > 1, ``top_k``; and
``logprobs`` / ``top_logprobs``, which the canonical form does not carry.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from gateway.canonical import (
    CanonicalRequest,
    CanonicalResponse,
    Dialect,
    Event,
    FilePart,
    Finish,
    FinishReason,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImageGenerationTool,
    ImagePart,
    Item,
    Message,
    OutputFormatType,
    Part,
    Reasoning,
    ReasoningDelta,
    ReasoningDone,
    ResponseStart,
    Role,
    StreamError,
    TextDelta,
    TextPart,
    Tool,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    ToolChoiceMode,
    Usage,
    UsageEvent,
    WebSearchTool,
)
from gateway.errors import ErrorType, GatewayError, unsupported_parameter
from gateway.providers.base import UpstreamRequest
from gateway.providers.openai import auth_headers, map_error, usage_from_responses
from gateway.reasoning_state import state_for
from gateway.sse import SSEParser

KIND = "openai"
PROVIDER_KIND = "openai"  # Reasoning.provider for state OpenAI produced

__all__ = ["KIND", "StreamDecoder", "build_request", "map_error", "parse_response"]

# How each dialect spells the stop parameter, for the refusal to name it.
_STOP_PARAM = {Dialect.MESSAGES: "stop_sequences"}
# Model families that reason (and so accept ``reasoning.encrypted_content``).
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5(?!-chat)|gpt-6|codex)")


# ---------------------------------------------------------------- request


def refuse_unsupported(req: CanonicalRequest) -> None:
    checks: list[tuple[str, bool, str]] = [
        (_STOP_PARAM.get(req.dialect, "stop"), bool(req.stop), "The Responses API has no stop sequences."),
        ("seed", req.seed is not None, "The Responses API has no 'seed'."),
        ("presence_penalty", req.presence_penalty is not None, "The Responses API has no penalties."),
        ("frequency_penalty", req.frequency_penalty is not None, "The Responses API has no penalties."),
        ("n", req.n is not None and req.n > 1, "The Responses API returns one answer per request."),
        ("top_k", req.top_k is not None, "The Responses API has no 'top_k'."),
        ("logprobs", bool(req.logprobs), "Log probabilities are not translated."),
        ("top_logprobs", bool(req.top_logprobs), "Log probabilities are not translated."),
    ]
    for param, refused, detail in checks:
        if refused:
            raise unsupported_parameter(param, KIND, detail)


def _input_part(part: Part, role: Role) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "output_text" if role is Role.ASSISTANT else "input_text", "text": part.text}
    if isinstance(part, ImagePart):
        return {"type": "input_image", "image_url": part.url, "detail": part.detail or "auto"}
    if isinstance(part, FilePart):
        out: dict[str, Any] = {"type": "input_file"}
        if part.data_url is not None:
            out["file_data"] = part.data_url
        if part.file_id is not None:
            out["file_id"] = part.file_id
        if part.filename is not None:
            out["filename"] = part.filename
        return out
    raise TypeError(part)


def _input_item(item: Item, param: str) -> dict[str, Any] | None:
    if isinstance(item, Message):
        if item.role is Role.ASSISTANT and any(not isinstance(p, TextPart) for p in item.content):
            raise unsupported_parameter(f"{param}.content", KIND, "Assistant turns carry text only.")
        return {
            "type": "message",
            "role": str(item.role),
            "content": [_input_part(p, item.role) for p in item.content],
        }
    if isinstance(item, FunctionCall):
        return {
            "type": "function_call",
            "call_id": item.call_id,
            "name": item.name,
            "arguments": item.arguments,
        }
    if isinstance(item, FunctionCallOutput):
        return {"type": "function_call_output", "call_id": item.call_id, "output": item.output}
    if isinstance(item, Reasoning):
        # Only OpenAI's own encrypted state can be replayed: as it came in a
        # Responses item, or packed by another dialect (``gateway.reasoning_state``).
        # Another provider's state, or a summary without state, has nothing
        # OpenAI could resume from. The item id goes back only when known:
        # OpenAI rejects state under an id it did not issue.
        state = state_for(
            PROVIDER_KIND,
            signature=item.signature,
            encrypted_content=item.encrypted_content,
            owner=item.provider or PROVIDER_KIND,
        )
        if state is None:
            return None
        out: dict[str, Any] = {"type": "reasoning"}
        if item.id:
            out["id"] = item.id
        out["summary"] = [{"type": "summary_text", "text": s} for s in item.summary]
        out["encrypted_content"] = state
        return out
    raise TypeError(item)


def _tool(tool: Tool) -> dict[str, Any]:
    if isinstance(tool, FunctionTool):
        return {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters or {"type": "object", "properties": {}},
            # Responses defaults to strict schemas; chat and Messages do not.
            "strict": bool(tool.strict),
        }
    if isinstance(tool, WebSearchTool):
        options = dict(tool.options)
        location = options.get("user_location")
        if isinstance(location, dict) and isinstance(location.get("approximate"), dict):
            # Chat's ``web_search_options.user_location`` nests the fields.
            options["user_location"] = {"type": "approximate", **location["approximate"]}
        return {"type": "web_search", **options}
    if isinstance(tool, ImageGenerationTool):
        return {"type": "image_generation", **tool.options}
    raise TypeError(tool)


def responses_body(req: CanonicalRequest, *, upstream_model: str) -> dict[str, Any]:
    inputs = [_input_item(item, f"input[{i}]") for i, item in enumerate(req.items)]
    body: dict[str, Any] = {
        "model": upstream_model,
        "input": [item for item in inputs if item is not None],
        "store": False,
    }
    replays_reasoning = any(item is not None and item["type"] == "reasoning" for item in inputs)
    if req.reasoning_effort or replays_reasoning or _REASONING_MODEL.match(upstream_model):
        body["include"] = ["reasoning.encrypted_content"]
    if req.instructions:
        body["instructions"] = req.instructions
    if req.tools:
        body["tools"] = [_tool(t) for t in req.tools]
    if req.tool_choice is not None:
        body["tool_choice"] = (
            {"type": "function", "name": req.tool_choice.name}
            if req.tool_choice.mode is ToolChoiceMode.FUNCTION
            else str(req.tool_choice.mode)
        )
    fmt = req.output_format
    if fmt is not None:
        if fmt.type is OutputFormatType.JSON_SCHEMA:
            spec: dict[str, Any] = {"type": "json_schema", "name": fmt.name, "schema": fmt.schema}
            if fmt.strict is not None:
                spec["strict"] = fmt.strict
            if fmt.description is not None:
                spec["description"] = fmt.description
            body["text"] = {"format": spec}
        else:
            body["text"] = {"format": {"type": str(fmt.type)}}
    reasoning = {
        k: val for k, val in (("effort", req.reasoning_effort), ("summary", req.reasoning_summary)) if val
    }
    if reasoning:
        body["reasoning"] = reasoning
    optional = {
        "parallel_tool_calls": req.parallel_tool_calls,
        "max_output_tokens": req.max_output_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "metadata": req.metadata,
        "user": req.user,
    }
    body.update({k: val for k, val in optional.items() if val is not None})
    if req.stream:
        body["stream"] = True
    return body


def build_request(
    req: CanonicalRequest,
    *,
    upstream_model: str,
    base_url: str,
    api_key: str,
    headers: dict[str, str] | None = None,
) -> UpstreamRequest:
    refuse_unsupported(req)
    return UpstreamRequest(
        url=base_url + "/responses",
        body=msgspec.json.encode(responses_body(req, upstream_model=upstream_model)),
        headers=auth_headers(api_key),
        stream=req.stream,
    )


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
                parts.append(TextPart(c.get("text") or ""))
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
            if data.get("delta"):
                events.append(TextDelta(data["delta"]))
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
            index = self._calls.get(self._call_key(data))
            if index is not None and data.get("delta"):
                self._args_seen.add(index)
                events.append(ToolCallDelta(index=index, arguments=data["delta"]))
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
