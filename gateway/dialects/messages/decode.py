"""Anthropic Messages request body -> canonical request."""

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
    Item,
    Message,
    OutputFormat,
    OutputFormatType,
    Part,
    Reasoning,
    Role,
    TextPart,
    Tool,
    ToolChoice,
    ToolChoiceMode,
    WebSearchTool,
)
from gateway.dialects import validate as v
from gateway.errors import invalid_request
from gateway.reasoning_state import unpack

DIALECT = Dialect.MESSAGES
PROVIDER = "anthropic"
_ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT}
_EFFORTS = ("low", "medium", "high", "xhigh", "max")
# Reasoning state of another provider rides in a thinking block's signature
# (``gateway.reasoning_state``); these providers keep it as encrypted_content.
_OPAQUE_AS_ENCRYPTED = ("openai",)  # providers whose state is ``encrypted_content``


def decode(body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest:
    model = v.require(body, "model")
    if not isinstance(model, str) or not model:
        raise invalid_request("model: expected a non-empty string.", param="model")
    max_tokens = v.require(body, "max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise invalid_request("max_tokens: expected a non-negative integer.", param="max_tokens")
    messages = v.require(body, "messages")
    if not isinstance(messages, list):
        raise invalid_request("messages: expected an array.", param="messages")
    items: list[Item] = []
    system = body.get("system")
    if isinstance(system, list):
        parts = [_text_part(b, f"system[{i}]") for i, b in enumerate(system)]
        items.append(Message(role=Role.SYSTEM, content=list(parts)))
        instructions = None
    elif system is None or isinstance(system, str):
        instructions = system or None
    else:
        raise invalid_request("system: expected a string or an array of text blocks.", param="system")
    for i, msg in enumerate(messages):
        items.extend(_decode_message(msg, f"messages.{i}"))
    metadata = v.opt_dict(body, "metadata") or {}
    tool_choice, parallel = _decode_tool_choice(v.opt_dict(body, "tool_choice"))
    output_config = v.opt_dict(body, "output_config") or {}
    passthrough = {"anthropic-beta": headers["anthropic-beta"]} if headers.get("anthropic-beta") else {}
    return CanonicalRequest(
        dialect=DIALECT,
        model=model,
        items=items,
        instructions=instructions,
        tools=_decode_tools(v.opt_list(body, "tools") or []),
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        output_format=_decode_format(output_config.get("format")),
        temperature=v.opt_number(body, "temperature", low=0, high=1),
        top_p=v.opt_number(body, "top_p", low=0, high=1),
        top_k=v.opt_int(body, "top_k", minimum=0),
        max_output_tokens=max_tokens,
        stop=_stop_sequences(body),
        reasoning_effort=_reasoning_effort(v.opt_dict(body, "thinking"), output_config.get("effort")),
        stream=bool(v.opt_bool(body, "stream")),
        include_usage=True,
        user=v.opt_str(metadata, "user_id", param="metadata.user_id"),
        router_mode=v.opt_str(body, "router_mode"),
        passthrough_headers=passthrough,
        raw=body,
    )


def _stop_sequences(body: dict[str, Any]) -> list[str] | None:
    value = body.get("stop_sequences")
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return value or None
    raise invalid_request("stop_sequences: expected an array of strings.", param="stop_sequences")


def _reasoning_effort(thinking: dict[str, Any] | None, effort: Any) -> str | None:
    """A summary of the caller's thinking config for non-Anthropic upstreams
    (the Anthropic adapter uses the exact ``thinking`` object instead):
    budget < 2048 -> low, < 8192 -> medium, else high; ``adaptive`` -> medium."""
    if thinking is not None:
        kind = thinking.get("type")
        if kind == "disabled":
            return "none"
        if kind == "adaptive":
            return effort if effort in _EFFORTS else "medium"
        if kind != "enabled":
            raise invalid_request(
                "thinking.type: expected enabled, disabled or adaptive.", param="thinking.type"
            )
        budget = thinking.get("budget_tokens")
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise invalid_request(
                "thinking.budget_tokens: expected a positive integer.", param="thinking.budget_tokens"
            )
        return "low" if budget < 2048 else "medium" if budget < 8192 else "high"
    if effort is None:
        return None
    if effort not in _EFFORTS:
        raise invalid_request(
            f"output_config.effort: expected one of {', '.join(_EFFORTS)}.", param="output_config.effort"
        )
    return str(effort)


def _decode_format(fmt: Any) -> OutputFormat | None:
    if fmt is None:
        return None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        raise invalid_request(
            "output_config.format: expected {type: json_schema, schema: {...}}.", param="output_config.format"
        )
    return OutputFormat(OutputFormatType.JSON_SCHEMA, name="output", schema=fmt["schema"], strict=True)


def _text_part(block: Any, param: str) -> TextPart:
    if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
        raise invalid_request(f"{param}: expected a text block.", param=param)
    extra = {"cache_control": block["cache_control"]} if block.get("cache_control") is not None else None
    return TextPart(block["text"], extra=extra)


def _decode_message(msg: Any, param: str) -> list[Item]:
    if not isinstance(msg, dict) or msg.get("role") not in _ROLES:
        raise invalid_request(f"{param}.role: expected 'user' or 'assistant'.", param=f"{param}.role")
    role = _ROLES[msg["role"]]
    content = msg.get("content")
    if isinstance(content, str):
        return [Message(role=role, content=[TextPart(content)])]
    if not isinstance(content, list):
        raise invalid_request(
            f"{param}.content: expected a string or an array of blocks.", param=f"{param}.content"
        )
    items: list[Item] = []
    parts: list[Part] = []

    def flush() -> None:
        if parts:
            items.append(Message(role=role, content=list(parts)))
            parts.clear()

    for k, block in enumerate(content):
        p = f"{param}.content.{k}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append(_text_part(block, p))
        elif kind == "image":
            file_id = _source_file_id(block.get("source"))
            url = "" if file_id else _source_url(block.get("source"), p)
            parts.append(ImagePart(url=url, file_id=file_id, param=p))
        elif kind == "document":
            parts.extend(_document(block, p))
        elif kind == "tool_use" and role is Role.ASSISTANT:
            flush()
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise invalid_request(f"{p}: a tool_use block needs 'id' and 'name'.", param=p)
            items.append(
                FunctionCall(
                    call_id=block["id"],
                    name=block["name"],
                    arguments=msgspec.json.encode(block.get("input") or {}).decode(),
                )
            )
        elif kind == "tool_result" and role is Role.USER:
            flush()
            if not isinstance(block.get("tool_use_id"), str):
                raise invalid_request(f"{p}.tool_use_id: required.", param=f"{p}.tool_use_id")
            items.append(
                FunctionCallOutput(
                    call_id=block["tool_use_id"],
                    output=_tool_result_text(block.get("content"), f"{p}.content"),
                    is_error=bool(block.get("is_error")),
                )
            )
        elif kind == "thinking" and role is Role.ASSISTANT:
            flush()
            items.append(reasoning_item(str(block.get("thinking") or ""), block.get("signature")))
        elif kind == "redacted_thinking" and role is Role.ASSISTANT:
            flush()
            items.append(Reasoning(encrypted_content=block.get("data"), redacted=True, provider=PROVIDER))
        else:
            raise invalid_request(
                f"{p}: block type {kind!r} is not supported in a {msg['role']} turn.", param=p
            )
    flush()
    return items


def reasoning_item(thinking: str, signature: Any) -> Reasoning:
    unpacked = unpack(signature) if isinstance(signature, str) else None
    if unpacked is not None:
        provider, state = unpacked
        if provider in _OPAQUE_AS_ENCRYPTED:
            return Reasoning(summary=[thinking], encrypted_content=state, provider=provider)
        return Reasoning(summary=[thinking], signature=state, provider=provider)
    return Reasoning(summary=[thinking], signature=signature, provider=PROVIDER)


def _source_url(source: Any, param: str) -> str:
    """Image and document sources as the canonical URL form (data URL or http(s))."""
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source.get("data"), str) and isinstance(source.get("media_type"), str):
        return f"data:{source['media_type']};base64,{source['data']}"
    if kind == "url" and isinstance(source.get("url"), str):
        return str(source["url"])
    raise invalid_request(
        f"{param}.source: expected a base64, url or file source.",
        param=f"{param}.source",
    )


def _source_file_id(source: Any) -> str | None:
    """A ``{"type": "file", "file_id": ...}`` source: a Junction file id."""
    if isinstance(source, dict) and source.get("type") == "file" and isinstance(source.get("file_id"), str):
        return str(source["file_id"])
    return None


def _document(block: dict[str, Any], param: str) -> list[Part]:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "text" and isinstance(source.get("data"), str):
        return [TextPart(source["data"])]
    title = block.get("title")
    if (file_id := _source_file_id(source)) is not None:
        return [FilePart(file_id=file_id, filename=title, param=param)]
    url = _source_url(source, param)
    if url.startswith("data:"):
        return [FilePart(data_url=url, filename=title, param=param)]
    return [FilePart(url=url, filename=title, param=param)]


def _tool_result_text(content: Any, param: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for k, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise invalid_request(
                    f"{param}.{k}: only text blocks are supported inside tool_result.", param=f"{param}.{k}"
                )
            texts.append(str(block.get("text") or ""))
        return "".join(texts)
    raise invalid_request(f"{param}: expected a string or an array of text blocks.", param=param)


def _decode_tools(raw: list[Any]) -> list[Tool]:
    tools: list[Tool] = []
    for i, tool in enumerate(raw):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind.startswith("web_search_"):
            # Anthropic's own server tool: kept whole, under a key no other
            # provider's web search option uses, for the Anthropic adapter.
            tools.append(WebSearchTool(options={"anthropic": dict(tool)}))
            continue
        if kind not in (None, "custom") or not isinstance(tool.get("name"), str):
            raise invalid_request(
                f"tools.{i}: only custom (client) tools and web_search are supported, got {kind!r}.",
                param=f"tools.{i}",
            )
        schema = tool.get("input_schema")
        if not isinstance(schema, dict):
            raise invalid_request(f"tools.{i}.input_schema: required.", param=f"tools.{i}.input_schema")
        tools.append(
            FunctionTool(
                name=tool["name"],
                description=tool.get("description"),
                parameters=schema,
                strict=tool.get("strict"),
            )
        )
    return tools


def _decode_tool_choice(choice: dict[str, Any] | None) -> tuple[ToolChoice | None, bool | None]:
    if choice is None:
        return None, None
    parallel = False if choice.get("disable_parallel_tool_use") is True else None
    kind = choice.get("type")
    if kind == "auto":
        return ToolChoice(ToolChoiceMode.AUTO), parallel
    if kind == "any":
        return ToolChoice(ToolChoiceMode.REQUIRED), parallel
    if kind == "none":
        return ToolChoice(ToolChoiceMode.NONE), parallel
    if kind == "tool" and isinstance(choice.get("name"), str):
        return ToolChoice(ToolChoiceMode.FUNCTION, name=choice["name"]), parallel
    raise invalid_request("tool_choice: expected auto, any, tool (with name) or none.", param="tool_choice")
