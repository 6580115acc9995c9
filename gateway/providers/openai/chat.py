"""The Chat Completions wire, both ways: canonical request -> chat request body,
chat JSON -> canonical response, chat SSE -> canonical events.

Pure functions; the ``openai_compatible`` provider
(``gateway.providers.openai_compatible``) is built on them. What the chat wire cannot carry is refused with
``unsupported_parameter`` (a 400 naming it), except one documented case:
reasoning items from an earlier turn are not replayed. Chat Completions has
no input field for them, and opaque reasoning state (OpenAI
``encrypted_content``, Anthropic signatures, Gemini thought signatures) is
meaningful only to the provider that produced it.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from gateway.canonical import (
    CanonicalRequest,
    CanonicalResponse,
    Event,
    FilePart,
    Finish,
    FinishReason,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImagePart,
    Item,
    Message,
    OutputFormatType,
    Part,
    Reasoning,
    ReasoningDelta,
    ResponseStart,
    Role,
    StreamError,
    TextDelta,
    TextPart,
    TokenLogprob,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    ToolChoiceMode,
    Usage,
    UsageEvent,
    WebSearchTool,
)
from gateway.errors import ErrorType, GatewayError, unsupported_parameter, unsupported_tool
from gateway.logprobs import from_chat_choice
from gateway.providers.openai.wire import usage_from_chat
from gateway.providers.web_search import tool_param
from gateway.sse import SSEParser

FINISH_REASONS = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "tool_calls": FinishReason.TOOL_CALLS,
    "function_call": FinishReason.TOOL_CALLS,
    "content_filter": FinishReason.CONTENT_FILTER,
}
# Roles the chat wire takes from canonical roles. ``developer`` is OpenAI's;
# OpenAI-compatible servers (DeepSeek, Mistral, vLLM...) know only ``system``.
_ROLES = {Role.SYSTEM: "system", Role.DEVELOPER: "system", Role.USER: "user", Role.ASSISTANT: "assistant"}


# ---------------------------------------------------------------- request


def refuse_unsupported(req: CanonicalRequest, provider: str) -> None:
    """Refuse what a canonical request asks that no chat-wire translation can honour."""
    if req.n is not None and req.n > 1:
        raise unsupported_parameter(
            "n", provider, "Only one choice can be translated; 'n' > 1 needs an OpenAI chat upstream."
        )
    if req.top_k is not None:
        raise unsupported_parameter("top_k", provider, "Chat Completions has no 'top_k'.")
    if req.reasoning_summary is not None:
        raise unsupported_parameter(
            "reasoning.summary", provider, "Chat Completions has no reasoning summaries; omit it."
        )
    for i, tool in enumerate(req.tools):
        if not isinstance(tool, FunctionTool):
            kind = "web_search" if isinstance(tool, WebSearchTool) else "image_generation"
            raise unsupported_tool(
                tool_param(req.dialect, i, tool),
                f"Provider '{provider}' has no hosted '{kind}' tool; only function tools can be sent "
                "over Chat Completions.",
                provider=provider,
            )


def _part(part: Part, param: str, provider: str) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        image: dict[str, Any] = {"url": part.url}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(part, FilePart):
        if part.url is not None:
            raise unsupported_parameter(
                f"{param}.file_url", provider, "Chat Completions takes files inline or by id, not by URL."
            )
        file = {
            k: val
            for k, val in (
                ("file_data", part.data_url),
                ("file_id", part.file_id),
                ("filename", part.filename),
            )
            if val is not None
        }
        return {"type": "file", "file": file}
    raise unsupported_parameter(param, provider)


def _content(parts: list[Part], param: str, provider: str) -> str | list[dict[str, Any]]:
    # Plain strings for text-only content: several compatible servers
    # (DeepSeek among them) accept nothing else.
    if all(isinstance(p, TextPart) for p in parts):
        return "\n".join(p.text for p in parts if isinstance(p, TextPart))
    return [_part(p, f"{param}[{k}]", provider) for k, p in enumerate(parts)]


def chat_messages(req: CanonicalRequest, provider: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if req.instructions:
        messages.append({"role": "system", "content": req.instructions})
    for i, item in enumerate(req.items):
        param = f"input[{i}]"
        if isinstance(item, Message):
            if item.role is Role.ASSISTANT and any(not isinstance(p, TextPart) for p in item.content):
                raise unsupported_parameter(f"{param}.content", provider, "Assistant turns carry text only.")
            messages.append({"role": _ROLES[item.role], "content": _content(item.content, param, provider)})
        elif isinstance(item, FunctionCall):
            call = {
                "id": item.call_id,
                "type": "function",
                "function": {"name": item.name, "arguments": item.arguments},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
                if last.get("content") == "":
                    last["content"] = None
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(item, FunctionCallOutput):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output})
        elif isinstance(item, Reasoning):
            continue  # not replayable over this wire; see the module docstring
    return messages


def _tool_choice(req: CanonicalRequest) -> Any:
    choice = req.tool_choice
    if choice is None:
        return None
    if choice.mode is ToolChoiceMode.FUNCTION:
        return {"type": "function", "function": {"name": choice.name}}
    return str(choice.mode)


def _response_format(req: CanonicalRequest) -> dict[str, Any] | None:
    fmt = req.output_format
    if fmt is None:
        return None
    if fmt.type is OutputFormatType.JSON_SCHEMA:
        spec: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema}
        if fmt.strict is not None:
            spec["strict"] = fmt.strict
        if fmt.description is not None:
            spec["description"] = fmt.description
        return {"type": "json_schema", "json_schema": spec}
    return {"type": str(fmt.type)}


def chat_body(req: CanonicalRequest, *, upstream_model: str, provider: str) -> dict[str, Any]:
    """The chat request body for a canonical request (after ``refuse_unsupported``)."""
    body: dict[str, Any] = {"model": upstream_model, "messages": chat_messages(req, provider)}
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    k: val
                    for k, val in (
                        ("name", t.name),
                        ("description", t.description),
                        ("parameters", t.parameters),
                        ("strict", t.strict),
                    )
                    if val is not None
                },
            }
            for t in req.tools
            if isinstance(t, FunctionTool)
        ]
    optional = {
        "tool_choice": _tool_choice(req),
        "parallel_tool_calls": req.parallel_tool_calls,
        "response_format": _response_format(req),
        "temperature": req.temperature,
        "top_p": req.top_p,
        "max_tokens": req.max_output_tokens,
        "stop": req.stop,
        "seed": req.seed,
        "presence_penalty": req.presence_penalty,
        "frequency_penalty": req.frequency_penalty,
        "n": req.n,
        "logprobs": True if req.wants_logprobs else None,
        "top_logprobs": req.top_logprobs if req.wants_logprobs else None,
        "reasoning_effort": req.reasoning_effort,
        "user": req.user,
    }
    body.update({k: val for k, val in optional.items() if val is not None})
    if req.stream:
        # Usage is what billing needs: always ask for it in the stream.
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


# --------------------------------------------------------------- response


def finish_reason(raw: Any) -> FinishReason:
    return FINISH_REASONS.get(raw, FinishReason.STOP) if isinstance(raw, str) else FinishReason.STOP


def reasoning_text(message: dict[str, Any]) -> str | None:
    """DeepSeek and vLLM send ``reasoning_content``; OpenRouter sends ``reasoning``."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def parse_chat_response(body: bytes) -> CanonicalResponse:
    data = msgspec.json.decode(body)
    choice = data["choices"][0]
    message = choice.get("message") or {}
    output: list[Item] = []
    thinking = reasoning_text(message)
    if thinking is not None:
        output.append(Reasoning(text=thinking))
    text = message.get("content")
    if not isinstance(text, str) or not text:
        text = message.get("refusal") if isinstance(message.get("refusal"), str) else None
    if text:
        output.append(
            Message(role=Role.ASSISTANT, content=[TextPart(text, logprobs=from_chat_choice(choice))])
        )
    for call in message.get("tool_calls") or []:
        fn = call.get("function") or {}
        output.append(
            FunctionCall(call_id=call.get("id") or "", name=fn["name"], arguments=fn.get("arguments") or "")
        )
    return CanonicalResponse(
        id=str(data.get("id") or ""),
        model=str(data.get("model") or ""),
        output=output,
        usage=usage_from_chat(data.get("usage")) or Usage(),
        finish_reason=finish_reason(choice.get("finish_reason")),
        created=int(data.get("created") or 0),
    )


# ----------------------------------------------------------------- stream


def stream_error(error: Any, provider: str) -> StreamError:
    message = error.get("message") if isinstance(error, dict) else error
    return StreamError(
        GatewayError(
            ErrorType.UPSTREAM,
            str(message or "The upstream provider failed mid-stream."),
            code="upstream_error",
            provider=provider or None,
            raw=error,
        )
    )


class ChatStreamDecoder:
    """``chat.completion.chunk`` SSE -> canonical events, at any byte split."""

    def __init__(self, provider: str = "") -> None:
        self._provider = provider
        self._sse = SSEParser()
        self._started = False
        self._finish: FinishReason | None = None
        self._usage: Usage | None = None
        self._done = False
        # upstream tool-call index -> (canonical index, call id); some servers
        # reuse index 0 for each new call, so a new id opens a new call.
        self._calls: dict[int, tuple[int, str]] = {}
        self._open: list[int] = []
        self._next_call = 0

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for sse in self._sse.feed(chunk):
            if not self._done:
                self._event(sse.data, events)
        return events

    def close(self) -> list[Event]:
        events: list[Event] = []
        for sse in self._sse.close():
            if not self._done:
                self._event(sse.data, events)
        if not self._done:
            if self._finish is None:
                events.append(stream_error("The upstream stream ended before it finished.", self._provider))
                self._done = True
            else:
                self._end(events)
        return events

    def _end(self, events: list[Event]) -> None:
        self._done = True
        events.extend(self._close_calls())
        if self._usage is not None:
            events.append(UsageEvent(self._usage))
        events.append(Finish(self._finish or FinishReason.STOP))

    def _close_calls(self) -> list[Event]:
        done: list[Event] = [ToolCallDone(index) for index in self._open]
        self._open = []
        return done

    def _event(self, data: str, events: list[Event]) -> None:
        if not data:
            return
        if data == "[DONE]":
            if self._finish is None:
                events.append(stream_error("The upstream stream ended before it finished.", self._provider))
                self._done = True
                return
            self._end(events)
            return
        chunk = msgspec.json.decode(data)
        if not isinstance(chunk, dict):
            return
        if chunk.get("error") is not None:
            events.append(stream_error(chunk["error"], self._provider))
            self._done = True
            return
        if not self._started:
            self._started = True
            events.append(
                ResponseStart(
                    id=str(chunk.get("id") or ""),
                    model=str(chunk.get("model") or ""),
                    created=int(chunk.get("created") or 0) or int(time.time()),
                )
            )
        usage = usage_from_chat(chunk.get("usage"))
        if usage is not None:
            self._usage = usage
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            self._delta(choice.get("delta") or {}, events, from_chat_choice(choice) or None)
            if choice.get("finish_reason"):
                self._finish = finish_reason(choice["finish_reason"])
                events.extend(self._close_calls())

    def _delta(self, delta: dict[str, Any], events: list[Event], tokens: list[TokenLogprob] | None) -> None:
        thinking = reasoning_text(delta)
        if thinking:
            events.append(ReasoningDelta(thinking, is_summary=False))
        content = delta.get("content")
        if (isinstance(content, str) and content) or tokens:
            events.append(TextDelta(content if isinstance(content, str) else "", logprobs=tokens))
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            events.append(TextDelta(refusal))
        for j, call in enumerate(delta.get("tool_calls") or []):
            upstream_index = call.get("index", j)
            fn = call.get("function") or {}
            known = self._calls.get(upstream_index)
            call_id = call.get("id")
            if known is None or (call_id and call_id != known[1]):
                index = self._next_call
                self._next_call += 1
                self._calls[upstream_index] = (index, call_id or "")
                self._open.append(index)
                events.append(ToolCallStart(index=index, call_id=call_id or "", name=fn.get("name") or ""))
            else:
                index = known[0]
            arguments = fn.get("arguments")
            if isinstance(arguments, str) and arguments:
                events.append(ToolCallDelta(index=index, arguments=arguments))
