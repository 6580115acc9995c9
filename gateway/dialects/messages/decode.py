"""Anthropic Messages request body -> canonical request: bounded
(``validate.check_tree``), typed (``messages.schema``), then mapped."""

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
    WebSearchCall,
    WebSearchTool,
)
from gateway.dialects import validate as v
from gateway.dialects.messages import schema as s
from gateway.errors import invalid_request, unsupported_tool
from gateway.reasoning_state import unpack

DIALECT = Dialect.MESSAGES
PROVIDER = "anthropic"
_ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT}
# Reasoning state of another provider rides in a thinking block's signature
# (``gateway.reasoning_state``); these providers keep it as encrypted_content.
_OPAQUE_AS_ENCRYPTED = ("openai",)  # providers whose state is ``encrypted_content``


def decode(body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest:
    v.check_tree(body, dotted=True)
    req = v.convert(body, s.MessagesBody, dotted=True)
    items: list[Item] = []
    instructions = None
    if isinstance(req.system, list):
        items.append(Message(role=Role.SYSTEM, content=[_text_part(b) for b in req.system]))
    else:
        instructions = req.system or None
    for i, msg in enumerate(req.messages):
        items.extend(_decode_message(msg, f"messages.{i}"))
    tool_choice, parallel = _decode_tool_choice(req.tool_choice)
    output_config = req.output_config or s.OutputConfig()
    fmt = output_config.format
    passthrough = {"anthropic-beta": headers["anthropic-beta"]} if headers.get("anthropic-beta") else {}
    return CanonicalRequest(
        dialect=DIALECT,
        model=req.model,
        items=items,
        instructions=instructions,
        tools=[_decode_tool(tool, f"tools.{i}") for i, tool in enumerate(req.tools or [])],
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        output_format=(
            OutputFormat(OutputFormatType.JSON_SCHEMA, name="output", schema=fmt.schema, strict=True)
            if fmt is not None
            else None
        ),
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=req.top_k,
        max_output_tokens=req.max_tokens,
        stop=req.stop_sequences or None,
        reasoning_effort=_reasoning_effort(req.thinking, output_config.effort),
        stream=bool(req.stream),
        include_usage=True,
        user=req.metadata.user_id if req.metadata else None,
        router_mode=req.router_mode,
        passthrough_headers=passthrough,
        raw=body,
    )


def _reasoning_effort(thinking: s.ThinkingParam | None, effort: str | None) -> str | None:
    """A summary of the caller's thinking config for non-Anthropic upstreams
    (the Anthropic adapter uses the exact ``thinking`` object instead):
    budget < 2048 -> low, < 8192 -> medium, else high; ``adaptive`` -> medium."""
    if thinking is None:
        return effort
    if thinking.type == "disabled":
        return "none"
    if thinking.type == "adaptive":
        return effort or "medium"
    budget = thinking.budget_tokens
    if budget is None:
        raise invalid_request(
            "thinking.budget_tokens: expected a positive integer.", param="thinking.budget_tokens"
        )
    return "low" if budget < 2048 else "medium" if budget < 8192 else "high"


def _text_part(block: s.TextBlock) -> TextPart:
    extra = {"cache_control": block.cache_control} if block.cache_control is not None else None
    return TextPart(block.text, extra=extra)


def _decode_message(msg: s.MessageParam, param: str) -> list[Item]:
    role = _ROLES[msg.role]
    if isinstance(msg.content, str):
        return [Message(role=role, content=[TextPart(msg.content)])]
    items: list[Item] = []
    parts: list[Part] = []
    searches: dict[str, WebSearchCall] = {}  # server tool use id -> the search it started

    def flush() -> None:
        if parts:
            items.append(Message(role=role, content=list(parts)))
            parts.clear()

    for k, block in enumerate(msg.content):
        p = f"{param}.content.{k}"
        if isinstance(block, s.TextBlock):
            parts.append(_text_part(block))
        elif isinstance(block, s.ImageBlock):
            if block.source.type == "file" and block.source.file_id is not None:
                parts.append(ImagePart(url="", file_id=block.source.file_id, param=p))
            else:
                parts.append(ImagePart(url=_source_url(block.source, p), param=p))
        elif isinstance(block, s.DocumentBlock):
            parts.append(_document(block, p))
        elif isinstance(block, s.ToolUseBlock) and role is Role.ASSISTANT:
            flush()
            arguments = msgspec.json.encode(block.input or {}).decode()
            items.append(FunctionCall(call_id=block.id, name=block.name, arguments=arguments))
        elif isinstance(block, s.ToolResultBlock) and role is Role.USER:
            flush()
            content = block.content
            output = "".join(b.text for b in content) if isinstance(content, list) else content or ""
            items.append(
                FunctionCallOutput(call_id=block.tool_use_id, output=output, is_error=bool(block.is_error))
            )
        elif isinstance(block, s.ThinkingBlock) and role is Role.ASSISTANT:
            flush()
            items.append(reasoning_item(block.thinking or "", block.signature))
        elif isinstance(block, s.RedactedThinkingBlock) and role is Role.ASSISTANT:
            flush()
            items.append(Reasoning(encrypted_content=block.data, redacted=True, provider=PROVIDER))
        elif (
            isinstance(block, s.ServerToolUseBlock) and role is Role.ASSISTANT and block.name == "web_search"
        ):
            flush()
            query = (block.input or {}).get("query")
            searches[block.id] = WebSearchCall(
                id=block.id,
                query=str(query) if query else None,
                provider=PROVIDER,
                state={"input": block.input or {}},
            )
            items.append(searches[block.id])
        elif isinstance(block, s.WebSearchToolResultBlock) and block.tool_use_id in searches:
            _search_result(searches[block.tool_use_id], block.content)
        else:
            kind = type(block).__struct_config__.tag
            raise invalid_request(f"{p}: block type {kind!r} is not supported in a {msg.role} turn.", param=p)
    flush()
    return items


def _search_result(call: WebSearchCall, content: Any) -> None:
    """A ``web_search_tool_result`` completes its search (kept whole for Anthropic)."""
    call.state = {**(call.state or {}), "content": content}
    if isinstance(content, list):
        results = [r for r in content if isinstance(r, dict)]
        call.sources = [str(r.get("url") or "") for r in results]
        call.titles = [str(r.get("title") or "") for r in results]
    else:
        call.status = "failed"


def reasoning_item(thinking: str, signature: Any) -> Reasoning:
    unpacked = unpack(signature) if isinstance(signature, str) else None
    if unpacked is not None:
        provider, state = unpacked
        if provider in _OPAQUE_AS_ENCRYPTED:
            return Reasoning(summary=[thinking], encrypted_content=state, provider=provider)
        return Reasoning(summary=[thinking], signature=state, provider=provider)
    return Reasoning(summary=[thinking], signature=signature, provider=PROVIDER)


def _source_url(source: s.Source, param: str) -> str:
    """Image and document sources as the canonical URL form (data URL or http(s))."""
    if source.type == "base64" and source.data is not None and source.media_type is not None:
        return f"data:{source.media_type};base64,{source.data}"
    if source.type == "url" and source.url is not None:
        return source.url
    raise invalid_request(
        f"{param}.source: expected a base64, url or file source.",
        param=f"{param}.source",
    )


def _document(block: s.DocumentBlock, param: str) -> Part:
    source = block.source
    if source.type == "text" and source.data is not None:
        return TextPart(source.data)
    if source.type == "file" and source.file_id is not None:  # a Junction file id
        return FilePart(file_id=source.file_id, filename=block.title, param=param)
    url = _source_url(source, param)
    if url.startswith("data:"):
        return FilePart(data_url=url, filename=block.title, param=param)
    return FilePart(url=url, filename=block.title, param=param)


def _decode_tool(raw: dict[str, Any], param: str) -> Tool:
    kind = raw.get("type")
    if isinstance(kind, str) and kind.startswith("web_search_"):
        # Anthropic's own server tool: kept whole, under a key no other
        # provider's web search option uses, for the Anthropic adapter.
        return WebSearchTool(options={"anthropic": dict(raw)})
    if kind not in (None, "custom"):
        raise unsupported_tool(
            param, f"{param}: only custom (client) tools and web_search are supported, got {kind!r}."
        )
    tool = v.convert(raw, s.CustomTool, param=param, dotted=True)
    return FunctionTool(
        name=tool.name, description=tool.description, parameters=tool.input_schema, strict=tool.strict
    )


def _decode_tool_choice(choice: s.ToolChoiceParam | None) -> tuple[ToolChoice | None, bool | None]:
    if choice is None:
        return None, None
    parallel = False if choice.disable_parallel_tool_use is True else None
    if choice.type == "tool":
        if choice.name is None:
            raise invalid_request("tool_choice.name: required for type tool.", param="tool_choice.name")
        return ToolChoice(ToolChoiceMode.FUNCTION, name=choice.name), parallel
    mode = {"auto": ToolChoiceMode.AUTO, "any": ToolChoiceMode.REQUIRED, "none": ToolChoiceMode.NONE}
    return ToolChoice(mode[choice.type]), parallel
