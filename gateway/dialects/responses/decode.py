"""Responses request body -> canonical request: bounded
(``validate.check_tree``), typed (``responses.schema``), then mapped."""

from __future__ import annotations

from typing import Any

from gateway.canonical import (
    CanonicalRequest,
    Dialect,
    FilePart,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImageGenerationCall,
    ImageGenerationTool,
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
from gateway.dialects.responses import schema as s
from gateway.errors import invalid_request, unsupported_tool

# The ``include`` value that asks for token log probabilities on output text.
LOGPROBS_INCLUDE = "message.output_text.logprobs"
DIALECT = Dialect.RESPONSES
_ROLES = {"system": Role.SYSTEM, "developer": Role.DEVELOPER, "user": Role.USER, "assistant": Role.ASSISTANT}


def decode(body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest:
    v.check_tree(body)
    if "max_tokens" in body:
        # The hold is sized from max_output_tokens: an unread limit would be forwarded unaccounted.
        raise invalid_request(
            "Unknown parameter: 'max_tokens'. The Responses API limits output with 'max_output_tokens'.",
            param="max_tokens",
            code="unknown_parameter",
        )
    req = v.convert(body, s.ResponsesBody)
    if req.previous_response_id is not None:
        raise invalid_request(
            "'previous_response_id' is not supported: Junction does not store responses. "
            "Send the conversation's items in 'input' instead.",
            param="previous_response_id",
            code="unsupported_parameter",
        )
    if req.store is True:
        raise invalid_request(
            "'store': true is not supported: Junction does not store responses. Omit it or set it to false.",
            param="store",
            code="unsupported_parameter",
        )
    if isinstance(req.input, str):
        items: list[Item] = [Message(role=Role.USER, content=[TextPart(req.input)])]
    else:
        items = [_decode_item(item, f"input[{i}]") for i, item in enumerate(req.input)]
    reasoning = req.reasoning or s.ReasoningOptions()
    return CanonicalRequest(
        dialect=DIALECT,
        model=req.model,
        items=items,
        instructions=req.instructions,
        tools=[_decode_tool(tool, f"tools[{i}]") for i, tool in enumerate(req.tools or [])],
        tool_choice=_decode_tool_choice(req.tool_choice),
        parallel_tool_calls=req.parallel_tool_calls,
        output_format=_decode_format(req.text.format if req.text else None),
        temperature=req.temperature,
        top_p=req.top_p,
        max_output_tokens=req.max_output_tokens,
        logprobs=LOGPROBS_INCLUDE in (req.include or []) or None,
        top_logprobs=req.top_logprobs,
        reasoning_effort=reasoning.effort,
        reasoning_summary=reasoning.summary,
        stream=bool(req.stream),
        include_usage=True,
        metadata=req.metadata,
        user=req.user,
        router_mode=req.router_mode,
        raw=body,
    )


def _by_type(raw: dict[str, Any], kinds: dict[str, Any], default: str | None, param: str) -> Any:
    """``raw`` converted to the schema its ``type`` names (``default`` when it has none)."""
    kind = raw.get("type", default)
    schema = kinds.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise invalid_request(f"Invalid '{param}.type': {kind!r} is not supported.", param=f"{param}.type")
    return v.convert(raw, schema, param=param)


def _decode_item(raw: dict[str, Any], param: str) -> Item:
    item = _by_type(raw, s.ITEMS, "message", param)
    if isinstance(item, s.MessageItem):
        return Message(
            role=_ROLES[item.role], content=_decode_content(item.content, f"{param}.content"), id=item.id
        )
    if isinstance(item, s.FunctionCallItem):
        return FunctionCall(call_id=item.call_id, name=item.name, arguments=item.arguments or "", id=item.id)
    if isinstance(item, s.FunctionCallOutputItem):
        output = item.output
        if isinstance(output, list):
            output = "".join(p.text or "" for p in output)
        return FunctionCallOutput(call_id=item.call_id, output=output or "")
    if isinstance(item, s.WebSearchCallItem):
        action = item.action or s.WebSearchAction()
        return WebSearchCall(
            id=item.id,
            status=item.status or "completed",
            query=action.query,
            sources=[src.url for src in action.sources or []],
            provider="openai",
        )
    if isinstance(item, s.ImageGenerationCallItem):
        return ImageGenerationCall(id=item.id, status=item.status or "completed", result=item.result)
    return Reasoning(
        summary=[part.text or "" for part in item.summary or []],
        text="".join(part.text or "" for part in item.content or []) or None,
        encrypted_content=item.encrypted_content,
        provider="openai",
        id=item.id,
    )


def _decode_content(content: str | list[dict[str, Any]], param: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[Part] = []
    for k, raw in enumerate(content):
        p = f"{param}[{k}]"
        part = _by_type(raw, s.CONTENT_PARTS, None, p)
        if isinstance(part, s.TextContent):
            parts.append(TextPart(part.text))
        elif isinstance(part, s.RefusalContent):
            parts.append(TextPart(part.refusal))
        elif isinstance(part, s.ImageContent):
            if part.image_url is None and part.file_id is None:
                raise invalid_request(
                    f"Invalid '{p}': 'image_url' (a URL or data URL) or 'file_id' is required.",
                    param=f"{p}.image_url",
                )
            parts.append(
                ImagePart(url=part.image_url or "", detail=part.detail, file_id=part.file_id, param=p)
            )
        else:
            if sum(x is not None for x in (part.file_data, part.file_id, part.file_url)) != 1:
                raise invalid_request(
                    f"Invalid '{p}': exactly one of 'file_data', 'file_id' or 'file_url' is required.",
                    param=p,
                )
            parts.append(
                FilePart(
                    data_url=part.file_data,
                    file_id=part.file_id,
                    filename=part.filename,
                    url=part.file_url,
                    param=p,
                )
            )
    return parts


def _decode_tool(raw: dict[str, Any], param: str) -> Tool:
    kind = raw.get("type")
    if kind == "function":
        fn = v.convert(raw, s.FunctionToolDef, param=param)
        return FunctionTool(
            name=fn.name, description=fn.description, parameters=fn.parameters, strict=fn.strict
        )
    options = {k: val for k, val in raw.items() if k != "type"}
    if kind in ("web_search", "web_search_preview"):
        return WebSearchTool(options=options)
    if kind == "image_generation":
        return ImageGenerationTool(options=options)
    raise unsupported_tool(
        param,
        f"Invalid '{param}': unsupported tool type {kind!r}. Junction serves 'function', 'web_search' "
        "(also 'web_search_preview') and 'image_generation' tools.",
    )


def _decode_tool_choice(choice: str | s.FunctionChoice | None) -> ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, s.FunctionChoice):
        return ToolChoice(ToolChoiceMode.FUNCTION, name=choice.name)
    return ToolChoice(ToolChoiceMode(choice))


def _decode_format(fmt: s.TextFormat | s.JsonObjectFormat | s.JsonSchemaFormat | None) -> OutputFormat | None:
    if fmt is None:
        return None
    if isinstance(fmt, s.TextFormat):
        return OutputFormat(OutputFormatType.TEXT)
    if isinstance(fmt, s.JsonObjectFormat):
        return OutputFormat(OutputFormatType.JSON_OBJECT)
    return OutputFormat(
        OutputFormatType.JSON_SCHEMA,
        name=fmt.name,
        schema=fmt.schema,
        strict=fmt.strict,
        description=fmt.description,
    )
