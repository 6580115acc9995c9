"""Chat Completions request body -> canonical request: bounded
(``validate.check_tree``), typed (``chat.schema``), then mapped."""

from __future__ import annotations

from typing import Any

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
    Role,
    TextPart,
    Tool,
    ToolChoice,
    ToolChoiceMode,
    WebSearchTool,
)
from gateway.dialects import validate as v
from gateway.dialects.chat import schema as s
from gateway.errors import invalid_request, unsupported_tool

DIALECT = Dialect.CHAT
_ROLES = {"system": Role.SYSTEM, "developer": Role.DEVELOPER, "user": Role.USER, "assistant": Role.ASSISTANT}


def decode(body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest:
    v.check_tree(body)
    _refuse_unknown_tools(body.get("tools"))
    req = v.convert(body, s.ChatBody)
    items: list[Item] = []
    for i, msg in enumerate(req.messages):
        items.extend(_decode_message(msg, f"messages[{i}]"))
    max_tokens = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
    if req.top_logprobs and not req.logprobs:
        raise invalid_request("'top_logprobs' requires 'logprobs': true.", param="top_logprobs")
    return CanonicalRequest(
        dialect=DIALECT,
        model=req.model,
        items=items,
        tools=_decode_tools(req),
        tool_choice=_decode_tool_choice(req.tool_choice),
        parallel_tool_calls=req.parallel_tool_calls,
        output_format=_decode_response_format(req.response_format),
        temperature=req.temperature,
        top_p=req.top_p,
        max_output_tokens=max_tokens,
        stop=[req.stop] if isinstance(req.stop, str) else req.stop,
        seed=req.seed,
        presence_penalty=req.presence_penalty,
        frequency_penalty=req.frequency_penalty,
        n=req.n,
        logprobs=req.logprobs,
        top_logprobs=req.top_logprobs,
        reasoning_effort=req.reasoning_effort,
        stream=bool(req.stream),
        include_usage=bool(req.stream_options and req.stream_options.include_usage),
        metadata=req.metadata,
        user=req.user,
        router_mode=req.router_mode,
        raw=body,
    )


def _decode_message(msg: s.ChatMessage, param: str) -> list[Item]:
    if msg.role == "tool":
        if msg.tool_call_id is None:
            raise invalid_request(f"Missing '{param}.tool_call_id'.", param=f"{param}.tool_call_id")
        return [FunctionCallOutput(call_id=msg.tool_call_id, output=_text_of(msg.content))]
    parts = _decode_content(msg.content, f"{param}.content")
    if msg.role == "assistant" and msg.refusal is not None and not parts:
        parts = [TextPart(msg.refusal)]
    items: list[Item] = []
    if parts or not msg.tool_calls:
        items.append(Message(role=_ROLES[msg.role], content=parts))
    for call in msg.tool_calls or []:
        fn = call.function
        items.append(FunctionCall(call_id=call.id or "", name=fn.name, arguments=fn.arguments or ""))
    return items


def _decode_content(content: s.Content, param: str = "content") -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[Part] = []
    for k, part in enumerate(content):
        p = f"{param}[{k}]"
        if isinstance(part, s.TextContent):
            parts.append(TextPart(part.text))
        elif isinstance(part, s.ImageContent):
            image = part.image_url
            if isinstance(image, str):
                parts.append(ImagePart(url=image, param=p))
            else:
                parts.append(ImagePart(url=image.url, detail=image.detail, param=p))
        elif isinstance(part, s.FileContent):
            f = part.file
            if f.file_data is None and f.file_id is None:
                raise invalid_request(
                    f"Invalid '{p}.file': 'file_data' or 'file_id' is required.", param=f"{p}.file"
                )
            parts.append(FilePart(data_url=f.file_data, file_id=f.file_id, filename=f.filename, param=p))
        else:
            parts.append(TextPart(part.refusal))
    return parts


def _text_of(content: s.Content) -> str:
    return "".join(p.text for p in _decode_content(content) if isinstance(p, TextPart))


def _refuse_unknown_tools(tools: Any) -> None:
    """Chat tools are functions; web search is ``web_search_options``."""
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        kind = tool.get("type", "function") if isinstance(tool, dict) else "function"
        if kind != "function":
            hint = (
                " Ask for web search with 'web_search_options'." if str(kind).startswith("web_search") else ""
            )
            raise unsupported_tool(
                f"tools[{i}]",
                f"Invalid 'tools[{i}]': unsupported tool type {kind!r}; chat tools are functions.{hint}",
            )


def _decode_tools(req: s.ChatBody) -> list[Tool]:
    tools: list[Tool] = []
    for tool in req.tools or []:
        fn = tool.function
        tools.append(
            FunctionTool(name=fn.name, description=fn.description, parameters=fn.parameters, strict=fn.strict)
        )
    if req.web_search_options is not None:
        tools.append(WebSearchTool(options=req.web_search_options))
    return tools


def _decode_tool_choice(choice: str | s.FunctionChoice | None) -> ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, s.FunctionChoice):
        return ToolChoice(ToolChoiceMode.FUNCTION, name=choice.function.name)
    return ToolChoice(ToolChoiceMode(choice))


def _decode_response_format(
    fmt: s.TextFormat | s.JsonObjectFormat | s.JsonSchemaFormat | None,
) -> OutputFormat | None:
    if fmt is None:
        return None
    if isinstance(fmt, s.TextFormat):
        return OutputFormat(OutputFormatType.TEXT)
    if isinstance(fmt, s.JsonObjectFormat):
        return OutputFormat(OutputFormatType.JSON_OBJECT)
    spec = fmt.json_schema
    return OutputFormat(
        OutputFormatType.JSON_SCHEMA,
        name=spec.name,
        schema=spec.schema,
        strict=spec.strict,
        description=spec.description,
    )
