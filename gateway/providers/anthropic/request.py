"""Canonical request -> Anthropic Messages request body."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.canonical import (
    CanonicalRequest,
    Dialect,
    FilePart,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImagePart,
    Message,
    OutputFormatType,
    Part,
    Reasoning,
    Role,
    TextPart,
    ToolChoiceMode,
    WebSearchCall,
    WebSearchTool,
)
from gateway.errors import invalid_request, unsupported_parameter, unsupported_tool
from gateway.providers.anthropic import search
from gateway.providers.anthropic.wire import (
    FALLBACK_MAX_TOKENS,
    JSON_TOOL,
    MIN_THINKING_BUDGET,
    PROVIDER,
    THINKING_BUDGETS,
    api_headers,
    default_max_tokens,
)
from gateway.providers.base import UpstreamRequest
from gateway.providers.content import call_arguments, split_data_url
from gateway.providers.params import param_name
from gateway.providers.web_search import tool_param
from gateway.reasoning_state import redacted_state_for, state_for, unpack

# ----------------------------------------------------------------- request


def build_request(
    req: CanonicalRequest,
    *,
    upstream_model: str,
    base_url: str,
    api_key: str,
    headers: dict[str, str] | None = None,
) -> UpstreamRequest:
    _refuse_unsupported(req)
    system, messages = _conversation(req)
    body: dict[str, Any] = {"model": upstream_model, "messages": messages}
    if system:
        body["system"] = system
    thinking, max_tokens = _thinking_and_max_tokens(req, upstream_model)
    if thinking is not None:
        body["thinking"] = thinking
        if thinking.get("type") == "enabled" and req.dialect is not Dialect.MESSAGES:
            _require_thinking_before_tool_use(req, messages)
    body["max_tokens"] = max_tokens
    _apply_tools(req, body)
    _apply_output_format(req, body)
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.top_k is not None:
        body["top_k"] = req.top_k
    if req.stop:
        body["stop_sequences"] = req.stop
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if req.stream:
        body["stream"] = True
    return UpstreamRequest(
        url=base_url + "/v1/messages",
        body=msgspec.json.encode(body),
        headers=api_headers(api_key, headers),
        stream=req.stream,
    )


def passthrough_request(
    *, body: dict[str, Any], upstream_model: str, base_url: str, api_key: str, headers: dict[str, str]
) -> UpstreamRequest:
    """Messages in, Anthropic out: forward the caller's body with only the
    model replaced, and without thinking blocks that another provider made
    (Junction wrote them with a ``junction:<provider>:`` signature, which
    Anthropic would reject)."""
    out = {k: val for k, val in body.items() if k != "router_mode"}
    out["model"] = upstream_model
    messages = out.get("messages")
    if isinstance(messages, list) and any(_foreign_thinking(m) for m in messages):
        out["messages"] = [_without_foreign_thinking(m) for m in messages]
    return UpstreamRequest(
        url=base_url + "/v1/messages",
        body=msgspec.json.encode(out),
        headers=api_headers(api_key, headers),
        stream=bool(out.get("stream")),
    )


def _is_foreign_thinking(block: Any) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "thinking"
        and isinstance(block.get("signature"), str)
        and unpack(block["signature"]) is not None
    )


def _foreign_thinking(message: Any) -> bool:
    content = message.get("content") if isinstance(message, dict) else None
    return isinstance(content, list) and any(_is_foreign_thinking(b) for b in content)


def _without_foreign_thinking(message: Any) -> Any:
    if not _foreign_thinking(message):
        return message
    return {**message, "content": [b for b in message["content"] if not _is_foreign_thinking(b)]}


def _require_thinking_before_tool_use(req: CanonicalRequest, messages: list[dict[str, Any]]) -> None:
    """With thinking on, Anthropic needs the assistant turn that made the
    pending tool calls to start with its (signed) thinking block. A client
    that did not send the reasoning back gets this clear 400 up front rather
    than Anthropic's own."""
    for turn in reversed(messages):
        if turn["role"] != "assistant":
            continue
        blocks = turn["content"]
        if any(b["type"] == "tool_use" for b in blocks) and blocks[0]["type"] not in (
            "thinking",
            "redacted_thinking",
        ):
            name = param_name(req, "reasoning_effort")
            raise unsupported_parameter(
                name,
                PROVIDER,
                "With reasoning on, Anthropic needs the reasoning of the turn that called the tools sent back "
                "before the tool results. Chat Completions cannot carry it: send the reasoning items back "
                "(Responses or Messages API), or omit reasoning on tool-result turns.",
            )
        return


def _refuse_unsupported(req: CanonicalRequest) -> None:
    if req.seed is not None:
        raise unsupported_parameter("seed", PROVIDER)
    if req.presence_penalty:
        raise unsupported_parameter("presence_penalty", PROVIDER)
    if req.frequency_penalty:
        raise unsupported_parameter("frequency_penalty", PROVIDER)
    if req.n is not None and req.n > 1:
        raise unsupported_parameter("n", PROVIDER, "Anthropic returns one message per request.")
    if req.logprobs:
        raise unsupported_parameter(
            param_name(req, "logprobs"), PROVIDER, "It returns no token log probabilities."
        )
    if req.temperature is not None and req.temperature > 1:
        raise invalid_request("Anthropic accepts a temperature between 0 and 1.", param="temperature")
    if req.top_logprobs:
        raise unsupported_parameter("top_logprobs", PROVIDER, "It returns no token log probabilities.")
    if req.dialect is not Dialect.MESSAGES and req.reasoning_effort not in (None, "none", *THINKING_BUDGETS):
        raise unsupported_parameter(
            param_name(req, "reasoning_effort"),
            PROVIDER,
            f"Effort {req.reasoning_effort!r} has no thinking budget mapping.",
        )


def _thinking_and_max_tokens(req: CanonicalRequest, model: str) -> tuple[dict[str, Any] | None, int]:
    """Anthropic requires ``max_tokens`` and a thinking budget below it. A
    Messages caller sends both and gets them as given; for the others the
    budget comes from ``reasoning_effort`` and the two are made to fit."""
    thinking = _thinking(req)
    max_tokens = req.max_output_tokens
    if thinking is None or thinking.get("type") != "enabled" or req.dialect is Dialect.MESSAGES:
        return thinking, max_tokens if max_tokens is not None else default_max_tokens(model)
    budget = int(thinking["budget_tokens"])
    if max_tokens is None:
        return thinking, max(default_max_tokens(model), budget + FALLBACK_MAX_TOKENS)
    if budget < max_tokens:
        return thinking, max_tokens
    if max_tokens - 1 < MIN_THINKING_BUDGET:
        name = param_name(req, "max_output_tokens")
        raise invalid_request(
            f"'{name}' must be greater than {MIN_THINKING_BUDGET} when reasoning is enabled "
            "(Anthropic's minimum thinking budget).",
            param=name,
        )
    return {**thinking, "budget_tokens": max_tokens - 1}, max_tokens


def _thinking(req: CanonicalRequest) -> dict[str, Any] | None:
    if req.dialect is Dialect.MESSAGES:
        # The caller spoke Anthropic: keep its exact thinking config (its
        # reasoning_effort is only a summary of it for other upstreams).
        raw = req.raw.get("thinking")
        return dict(raw) if isinstance(raw, dict) else None
    effort = req.reasoning_effort
    if effort is None or effort == "none" or effort not in THINKING_BUDGETS:
        return None
    return {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}


def _apply_tools(req: CanonicalRequest, body: dict[str, Any]) -> None:
    tools: list[dict[str, Any]] = []
    for i, tool in enumerate(req.tools):
        if isinstance(tool, WebSearchTool):
            tools.append(search.web_search_tool(tool, tool_param(req.dialect, i, tool)))
            continue
        if not isinstance(tool, FunctionTool):
            kind = "image_generation"  # the one hosted tool left
            raise unsupported_tool(
                f"tools[{i}]", f"Tool type '{kind}' cannot be served by Anthropic.", provider=PROVIDER
            )
        if tool.name == JSON_TOOL:
            raise invalid_request(
                f"The tool name '{JSON_TOOL}' is reserved by Junction.", param=f"tools[{i}]"
            )
        spec: dict[str, Any] = {
            "name": tool.name,
            "input_schema": tool.parameters or {"type": "object", "properties": {}},
        }
        if tool.description:
            spec["description"] = tool.description
        if tool.strict:
            spec["strict"] = True
        tools.append(spec)
    if tools:
        body["tools"] = tools
    choice: dict[str, Any] | None = None
    tc = req.tool_choice
    if tc is not None and tools:
        if tc.mode is ToolChoiceMode.AUTO:
            choice = {"type": "auto"}
        elif tc.mode is ToolChoiceMode.REQUIRED:
            choice = {"type": "any"}
        elif tc.mode is ToolChoiceMode.NONE:
            choice = {"type": "none"}
        else:
            choice = {"type": "tool", "name": tc.name}
    if req.parallel_tool_calls is False and tools:
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    if choice is not None:
        body["tool_choice"] = choice


def _apply_output_format(req: CanonicalRequest, body: dict[str, Any]) -> None:
    raw_config = req.raw.get("output_config") if req.dialect is Dialect.MESSAGES else None
    if isinstance(raw_config, dict) and raw_config.get("effort") is not None:
        body["output_config"] = {"effort": raw_config["effort"]}
    fmt = req.output_format
    if fmt is None or fmt.type is OutputFormatType.TEXT:
        return
    name = param_name(req, "output_format")
    if fmt.type is OutputFormatType.JSON_SCHEMA:
        if not isinstance(fmt.schema, dict):
            raise invalid_request(f"'{name}' needs a JSON schema for Anthropic.", param=name)
        body.setdefault("output_config", {})["format"] = {"type": "json_schema", "schema": fmt.schema}
        return
    # json_object: Anthropic has no schema-less JSON mode; a forced tool call
    # whose input is any object is the faithful equivalent.
    if body.get("tools") or "thinking" in body:
        raise unsupported_parameter(
            name,
            PROVIDER,
            "JSON mode on Anthropic is a forced tool call, which cannot be combined with tools or "
            "reasoning; use a json_schema format instead.",
        )
    body["tools"] = [
        {
            "name": JSON_TOOL,
            "description": "Give the answer as a JSON object.",
            "input_schema": {"type": "object"},
        }
    ]
    body["tool_choice"] = {"type": "tool", "name": JSON_TOOL}


def _conversation(req: CanonicalRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    if req.instructions:
        system.append({"type": "text", "text": req.instructions})
    turns: list[dict[str, Any]] = []

    def add(role: str, block: dict[str, Any]) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].append(block)
        else:
            turns.append({"role": role, "content": [block]})

    for i, item in enumerate(req.items):
        param = f"items[{i}]"
        if isinstance(item, Message):
            if item.role in (Role.SYSTEM, Role.DEVELOPER):
                for part in item.content:
                    if not isinstance(part, TextPart):
                        raise unsupported_parameter(param, PROVIDER, "System messages may only hold text.")
                    system.append(_text_block(part))
                continue
            role = "assistant" if item.role is Role.ASSISTANT else "user"
            for part in item.content:
                block = _part_block(part, param)
                if block is not None:
                    add(role, block)
        elif isinstance(item, FunctionCall):
            add(
                "assistant",
                {
                    "type": "tool_use",
                    "id": item.call_id,
                    "name": item.name,
                    "input": call_arguments(item, param),
                },
            )
        elif isinstance(item, FunctionCallOutput):
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": item.call_id,
                "content": item.output,
            }
            if item.is_error:
                result["is_error"] = True
            add("user", result)
        elif isinstance(item, Reasoning):
            block = _reasoning_block(item)
            if block is not None:
                add("assistant", block)
        elif isinstance(item, WebSearchCall):
            for block in search.replay_blocks(item):
                add("assistant", block)
    return system, turns


def _text_block(part: TextPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if part.extra and "cache_control" in part.extra:
        block["cache_control"] = part.extra["cache_control"]
    return block


def _part_block(part: Part, param: str) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        # Anthropic rejects empty text blocks; an empty part carries nothing.
        return _text_block(part) if part.text else None
    if isinstance(part, ImagePart):
        return {"type": "image", "source": _source(part.url, param)}
    if isinstance(part, FilePart):
        if part.data_url is None and part.url is None:
            raise unsupported_parameter(
                f"{param}.file_id", PROVIDER, "Send the document inline as a data URL."
            )
        source = _source(part.data_url or part.url or "", param)
        if source.get("media_type") not in ("application/pdf", None):
            raise unsupported_parameter(param, PROVIDER, "Anthropic documents must be PDF.")
        block: dict[str, Any] = {"type": "document", "source": source}
        if part.filename:
            block["title"] = part.filename
        return block
    raise invalid_request(f"Unsupported content in '{param}'.", param=param)


def _source(url: str, param: str) -> dict[str, Any]:
    if url.startswith("data:"):
        mime, data = split_data_url(url, param)
        return {"type": "base64", "media_type": mime, "data": data}
    if url.startswith(("http://", "https://")):
        return {"type": "url", "url": url}
    raise invalid_request(f"Invalid URL in '{param}'.", param=param)


def _reasoning_block(item: Reasoning) -> dict[str, Any] | None:
    """Thinking goes back only to the provider that signed it; other providers'
    reasoning is their own state and has no Anthropic form."""
    if item.redacted and item.provider == PROVIDER:
        return {"type": "redacted_thinking", "data": item.encrypted_content or ""}
    redacted = redacted_state_for(PROVIDER, item.encrypted_content)  # back through another dialect
    if redacted is not None:
        return {"type": "redacted_thinking", "data": redacted}
    signature = state_for(
        PROVIDER, signature=item.signature, encrypted_content=item.encrypted_content, owner=item.provider
    )
    if not signature:
        return None
    text = item.text if item.text is not None else "".join(item.summary)
    return {"type": "thinking", "thinking": text, "signature": signature}
