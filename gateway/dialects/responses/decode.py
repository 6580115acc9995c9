"""Responses request body -> canonical request."""

from __future__ import annotations

from typing import Any

from gateway.canonical import (
    CanonicalRequest,
    Dialect,
    FilePart,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
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
    WebSearchTool,
)
from gateway.dialects import validate as v
from gateway.errors import invalid_request

DIALECT = Dialect.RESPONSES
_ROLES = {"system": Role.SYSTEM, "developer": Role.DEVELOPER, "user": Role.USER, "assistant": Role.ASSISTANT}
_TEXT_PARTS = {"input_text", "output_text", "text", "summary_text"}


def decode(body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest:
    model = v.require(body, "model")
    if not isinstance(model, str) or not model:
        raise invalid_request("Invalid 'model': expected a non-empty string.", param="model")
    if body.get("previous_response_id") is not None:
        raise invalid_request(
            "'previous_response_id' is not supported: Junction does not store responses. "
            "Send the conversation's items in 'input' instead.",
            param="previous_response_id",
            code="unsupported_parameter",
        )
    if body.get("store") is True:
        raise invalid_request(
            "'store': true is not supported: Junction does not store responses. Omit it or set it to false.",
            param="store",
            code="unsupported_parameter",
        )
    raw_input = v.require(body, "input")
    if isinstance(raw_input, str):
        items: list[Item] = [Message(role=Role.USER, content=[TextPart(raw_input)])]
    elif isinstance(raw_input, list):
        items = [_decode_item(item, f"input[{i}]") for i, item in enumerate(raw_input)]
    else:
        raise invalid_request("Invalid 'input': expected a string or an array of items.", param="input")
    reasoning = v.opt_dict(body, "reasoning") or {}
    text = v.opt_dict(body, "text") or {}
    return CanonicalRequest(
        dialect=DIALECT,
        model=model,
        items=items,
        instructions=v.opt_str(body, "instructions"),
        tools=_decode_tools(v.opt_list(body, "tools") or []),
        tool_choice=_decode_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=v.opt_bool(body, "parallel_tool_calls"),
        output_format=_decode_format(text.get("format")),
        temperature=v.opt_number(body, "temperature", low=0, high=2),
        top_p=v.opt_number(body, "top_p", low=0, high=1),
        max_output_tokens=v.opt_int(body, "max_output_tokens", minimum=1),
        top_logprobs=v.opt_int(body, "top_logprobs", minimum=0),
        reasoning_effort=v.opt_str(reasoning, "effort", param="reasoning.effort"),
        reasoning_summary=v.opt_str(reasoning, "summary", param="reasoning.summary"),
        stream=bool(v.opt_bool(body, "stream")),
        include_usage=True,
        metadata=v.metadata(body),
        user=v.opt_str(body, "user"),
        router_mode=v.opt_str(body, "router_mode"),
        raw=body,
    )


def _decode_item(item: Any, param: str) -> Item:
    if not isinstance(item, dict):
        raise invalid_request(f"Invalid '{param}': expected an object.", param=param)
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in _ROLES:
            raise invalid_request(f"Invalid '{param}.role'.", param=f"{param}.role")
        return Message(
            role=_ROLES[role],
            content=_decode_content(item.get("content"), f"{param}.content"),
            id=item.get("id"),
        )
    if kind == "function_call":
        if not isinstance(item.get("name"), str) or not isinstance(item.get("call_id"), str):
            raise invalid_request(
                f"Invalid '{param}': a function_call needs 'name' and 'call_id'.", param=param
            )
        return FunctionCall(
            call_id=item["call_id"],
            name=item["name"],
            arguments=item.get("arguments") or "",
            id=item.get("id"),
        )
    if kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise invalid_request(f"Missing '{param}.call_id'.", param=f"{param}.call_id")
        output = item.get("output")
        if isinstance(output, list):
            output = "".join(p.get("text", "") for p in output if isinstance(p, dict))
        return FunctionCallOutput(call_id=item["call_id"], output=output if isinstance(output, str) else "")
    if kind == "reasoning":
        summary = [s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict)]
        content = item.get("content") or []
        text = "".join(c.get("text", "") for c in content if isinstance(c, dict)) or None
        return Reasoning(
            summary=summary,
            text=text,
            encrypted_content=item.get("encrypted_content"),
            provider="openai",
            id=item.get("id"),
        )
    raise invalid_request(f"Invalid '{param}.type': {kind!r} is not supported.", param=f"{param}.type")


def _decode_content(content: Any, param: str) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)]
    if not isinstance(content, list):
        raise invalid_request(
            f"Invalid '{param}': expected a string or an array of content parts.", param=param
        )
    parts: list[Part] = []
    for k, part in enumerate(content):
        p = f"{param}[{k}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            parts.append(TextPart(part["text"]))
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append(TextPart(part["refusal"]))
        elif kind == "input_image":
            url, file_id = part.get("image_url"), part.get("file_id")
            if not isinstance(url, str) and not isinstance(file_id, str):
                raise invalid_request(
                    f"Invalid '{p}': 'image_url' (a URL or data URL) or 'file_id' is required.",
                    param=f"{p}.image_url",
                )
            parts.append(
                ImagePart(
                    url=url if isinstance(url, str) else "",
                    detail=part.get("detail"),
                    file_id=file_id if isinstance(file_id, str) else None,
                    param=p,
                )
            )
        elif kind == "input_file":
            sources = [k for k in ("file_data", "file_id", "file_url") if isinstance(part.get(k), str)]
            if len(sources) != 1:
                raise invalid_request(
                    f"Invalid '{p}': exactly one of 'file_data', 'file_id' or 'file_url' is required.",
                    param=p,
                )
            parts.append(
                FilePart(
                    data_url=part.get("file_data"),
                    file_id=part.get("file_id"),
                    filename=part.get("filename"),
                    url=part.get("file_url"),
                    param=p,
                )
            )
        else:
            raise invalid_request(f"Invalid content part '{p}': unsupported type {kind!r}.", param=p)
    return parts


def _decode_tools(raw: list[Any]) -> list[Tool]:
    tools: list[Tool] = []
    for i, tool in enumerate(raw):
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function" and isinstance(tool.get("name"), str):
            tools.append(
                FunctionTool(
                    name=tool["name"],
                    description=tool.get("description"),
                    parameters=tool.get("parameters"),
                    strict=tool.get("strict"),
                )
            )
        elif kind in ("web_search", "web_search_preview"):
            tools.append(WebSearchTool(options={k: val for k, val in tool.items() if k != "type"}))
        elif kind == "image_generation":
            tools.append(ImageGenerationTool(options={k: val for k, val in tool.items() if k != "type"}))
        else:
            raise invalid_request(
                f"Invalid 'tools[{i}]': unsupported tool type {kind!r}.", param=f"tools[{i}]"
            )
    return tools


def _decode_tool_choice(choice: Any) -> ToolChoice | None:
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return ToolChoice(ToolChoiceMode(choice))
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return ToolChoice(ToolChoiceMode.FUNCTION, name=choice["name"])
    raise invalid_request("Invalid 'tool_choice'.", param="tool_choice")


def _decode_format(fmt: Any) -> OutputFormat | None:
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return OutputFormat(OutputFormatType.TEXT)
    if kind == "json_object":
        return OutputFormat(OutputFormatType.JSON_OBJECT)
    if kind == "json_schema":
        if not isinstance(fmt.get("name"), str):
            raise invalid_request("Missing 'text.format.name'.", param="text.format.name")
        return OutputFormat(
            OutputFormatType.JSON_SCHEMA,
            name=fmt["name"],
            schema=fmt.get("schema"),
            strict=fmt.get("strict"),
            description=fmt.get("description"),
        )
    raise invalid_request("Invalid 'text.format.type'.", param="text.format.type")
