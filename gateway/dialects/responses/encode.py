"""Canonical response -> a Responses ``response`` object and its output items
(also the building blocks of the stream encoder, ``responses.stream``).

Item ids (``msg_``, ``rs_``, ``fc_``) are the upstream's where the canonical
response carries them, otherwise Junction's; within one stream an item keeps
the same id from ``output_item.added`` to ``response.completed``.

A ``response`` object repeats the request's parameters (``tools``, ``text``,
``instructions``, ``temperature``...): ``request_echo`` writes them for the
JSON answer and for every snapshot of a stream alike.
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
    FinishReason,
    FunctionCall,
    FunctionTool,
    ImageGenerationCall,
    ImageGenerationTool,
    Item,
    Message,
    OutputFormatType,
    Reasoning,
    Role,
    TextPart,
    TokenLogprob,
    ToolChoiceMode,
    UrlCitation,
    Usage,
    WebSearchCall,
    WebSearchTool,
)
from gateway.dialects.base import add_fields
from gateway.reasoning_state import pack, unpack


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def response_id(upstream_id: str) -> str:
    return (
        upstream_id if upstream_id.startswith("resp_") else "resp_" + (upstream_id or secrets.token_hex(16))
    )


def usage_object(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


# ------------------------------------------------------------------ items


def url_citation(citation: UrlCitation) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": citation.url,
        "title": citation.title,
        "start_index": citation.start_index,
        "end_index": citation.end_index,
    }


def output_text(
    text: str, tokens: list[TokenLogprob] | None = None, citations: list[UrlCitation] | None = None
) -> dict[str, Any]:
    return {
        "type": "output_text",
        "text": text,
        "annotations": [url_citation(c) for c in citations or []],
        "logprobs": logprobs.to_wire(tokens) if tokens else [],
    }


def message_item(
    item_id: str,
    text: str,
    status: str = "completed",
    tokens: list[TokenLogprob] | None = None,
    citations: list[UrlCitation] | None = None,
) -> dict[str, Any]:
    content = [output_text(text, tokens, citations)] if status == "completed" else []
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def web_search_item(
    item_id: str, status: str, query: str | None = None, sources: list[str] | None = None
) -> dict[str, Any]:
    """A ``web_search_call`` item; its ``action`` is a search (the only
    action every upstream reports)."""
    action: dict[str, Any] = {"type": "search", "query": query or ""}
    if sources:
        action["sources"] = [{"type": "url", "url": url} for url in sources]
    return {"id": item_id, "type": "web_search_call", "status": status, "action": action}


def image_generation_item(item_id: str, call: ImageGenerationCall | None, status: str) -> dict[str, Any]:
    """An ``image_generation_call`` item: ``result`` (base64) as the SDK
    expects, plus Junction's signed ``url`` to the stored copy and what is
    known of the image."""
    out: dict[str, Any] = {"id": item_id, "type": "image_generation_call", "status": status, "result": None}
    if call is None:
        return out
    out["result"] = call.result
    for name in ("revised_prompt", "size", "quality", "output_format", "background", "url"):
        value = getattr(call, name)
        if value is not None:
            out[name] = value
    return out


def reasoning_item(
    item_id: str, summary: list[str], text: str | None, encrypted_content: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": s} for s in summary],
    }
    if text:
        out["content"] = [{"type": "reasoning_text", "text": text}]
    if encrypted_content is not None:
        out["encrypted_content"] = encrypted_content
    return out


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def opaque_state(
    *, encrypted_content: str | None, signature: str | None, provider: str | None, redacted: bool = False
) -> str | None:
    """The ``encrypted_content`` a Responses caller gets for a reasoning block:
    OpenAI's own state as is; another provider's (an Anthropic signature, a
    Gemini thought signature) packed with its provider's name so it finds its
    way back (``gateway.reasoning_state``)."""
    if provider in (None, "openai"):
        return encrypted_content
    state = signature or encrypted_content
    if state is None or unpack(state) is not None:
        return state
    return pack(provider, state, redacted=redacted)


def output_items(output: list[Item]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for item in output:
        if isinstance(item, Message) and item.role is Role.ASSISTANT:
            parts = [p for p in item.content if isinstance(p, TextPart)]
            tokens = logprobs.joined([p.logprobs for p in parts])
            text, citations = message_text(item)
            items.append(message_item(item.id or new_id("msg"), text, tokens=tokens, citations=citations))
        elif isinstance(item, Reasoning):
            state = opaque_state(
                encrypted_content=item.encrypted_content,
                signature=item.signature,
                provider=item.provider,
                redacted=item.redacted,
            )
            items.append(reasoning_item(item.id or new_id("rs"), item.summary, item.text, state))
        elif isinstance(item, FunctionCall):
            items.append(function_call_item(item.id or new_id("fc"), item.call_id, item.name, item.arguments))
        elif isinstance(item, WebSearchCall):
            items.append(web_search_item(item.id or new_id("ws"), item.status, item.query, item.sources))
        elif isinstance(item, ImageGenerationCall):
            items.append(image_generation_item(item.id or new_id("ig"), item, item.status))
    return items


def message_text(item: Message) -> tuple[str, list[UrlCitation]]:
    """The message's text as one output_text part, its citations shifted to
    index into the joined text."""
    text, citations, offset = [], [], 0
    for part in item.content:
        if not isinstance(part, TextPart):
            continue
        for c in part.citations or []:
            citations.append(UrlCitation(c.url, c.title, c.start_index + offset, c.end_index + offset))
        text.append(part.text)
        offset += len(part.text)
    return "".join(text), citations


# --------------------------------------------------------------- response


def finish_status(reason: FinishReason) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """(status, incomplete_details, error) for a finish reason."""
    if reason is FinishReason.LENGTH:
        return "incomplete", {"reason": "max_output_tokens"}, None
    if reason is FinishReason.CONTENT_FILTER:
        return "incomplete", {"reason": "content_filter"}, None
    if reason is FinishReason.ERROR:
        return "failed", None, {"code": "server_error", "message": "The upstream provider failed."}
    return "completed", None, None


def _tool(tool: Any) -> dict[str, Any]:
    if isinstance(tool, FunctionTool):
        return {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
            "strict": tool.strict,
        }
    if isinstance(tool, WebSearchTool):
        return {"type": "web_search", **tool.options}
    if isinstance(tool, ImageGenerationTool):
        return {"type": "image_generation", **tool.options}
    raise TypeError(tool)


def request_echo(request: CanonicalRequest | None) -> dict[str, Any]:
    """The request parameters a ``response`` object repeats back."""
    if request is None:
        return {
            "instructions": None,
            "max_output_tokens": None,
            "metadata": {},
            "parallel_tool_calls": True,
            "reasoning": {"effort": None, "summary": None},
            "temperature": None,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": [],
            "top_logprobs": None,
            "top_p": None,
            "user": None,
        }
    choice: Any = "auto"
    if request.tool_choice is not None:
        choice = (
            {"type": "function", "name": request.tool_choice.name}
            if request.tool_choice.mode is ToolChoiceMode.FUNCTION
            else str(request.tool_choice.mode)
        )
    fmt: dict[str, Any] = {"type": "text"}
    of = request.output_format
    if of is not None and of.type is OutputFormatType.JSON_SCHEMA:
        fmt = {"type": "json_schema", "name": of.name, "schema": of.schema, "strict": of.strict}
        if of.description is not None:
            fmt["description"] = of.description
    elif of is not None:
        fmt = {"type": str(of.type)}
    return {
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "metadata": request.metadata or {},
        "parallel_tool_calls": True if request.parallel_tool_calls is None else request.parallel_tool_calls,
        "reasoning": {"effort": request.reasoning_effort, "summary": request.reasoning_summary},
        "temperature": request.temperature,
        "text": {"format": fmt},
        "tool_choice": choice,
        "tools": [_tool(t) for t in request.tools],
        "top_logprobs": request.top_logprobs,
        "top_p": request.top_p,
        "user": request.user,
    }


def response_object(
    *,
    rid: str,
    model: str,
    created: int,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
    request: CanonicalRequest | None,
    incomplete_details: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete_details,
        "model": model,
        "output": output,
        "previous_response_id": None,
        "store": False,
        "truncation": "disabled",
        "usage": usage_object(usage) if usage is not None else None,
        **request_echo(request),
    }


def encode_response(
    resp: CanonicalResponse, extras: Mapping[str, Any], *, request: CanonicalRequest | None = None
) -> bytes:
    status, incomplete, error = finish_status(resp.finish_reason)
    body = response_object(
        rid=response_id(resp.id),
        model=resp.model,
        created=resp.created or int(time.time()),
        status=status,
        output=output_items(resp.output),
        usage=resp.usage,
        request=request,
        incomplete_details=incomplete,
        error=error,
    )
    add_fields(body, extras)
    return msgspec.json.encode(body)
