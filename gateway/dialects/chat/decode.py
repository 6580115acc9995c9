"""Chat Completions request body -> canonical request."""

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
from gateway.errors import invalid_request

DIALECT = Dialect.CHAT
_ROLES = {"system": Role.SYSTEM, "developer": Role.DEVELOPER, "user": Role.USER, "assistant": Role.ASSISTANT}


def decode(body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest:
    model = v.require(body, "model")
    if not isinstance(model, str) or not model:
        raise invalid_request("Invalid 'model': expected a non-empty string.", param="model")
    messages = v.require(body, "messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("Invalid 'messages': expected a non-empty array.", param="messages")
    items: list[Item] = []
    for i, msg in enumerate(messages):
        items.extend(_decode_message(msg, f"messages[{i}]"))
    stream = bool(v.opt_bool(body, "stream"))
    stream_options = v.opt_dict(body, "stream_options") or {}
    max_tokens = v.opt_int(body, "max_completion_tokens", minimum=1)
    if max_tokens is None:
        max_tokens = v.opt_int(body, "max_tokens", minimum=1)
    return CanonicalRequest(
        dialect=DIALECT,
        model=model,
        items=items,
        tools=_decode_tools(body),
        tool_choice=_decode_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=v.opt_bool(body, "parallel_tool_calls"),
        output_format=_decode_response_format(v.opt_dict(body, "response_format")),
        temperature=v.opt_number(body, "temperature", low=0, high=2),
        top_p=v.opt_number(body, "top_p", low=0, high=1),
        max_output_tokens=max_tokens,
        stop=v.stop_list(body),
        seed=v.opt_int(body, "seed"),
        presence_penalty=v.opt_number(body, "presence_penalty", low=-2, high=2),
        frequency_penalty=v.opt_number(body, "frequency_penalty", low=-2, high=2),
        n=v.opt_int(body, "n", minimum=1),
        logprobs=v.opt_bool(body, "logprobs"),
        top_logprobs=v.opt_int(body, "top_logprobs", minimum=0),
        reasoning_effort=v.opt_str(body, "reasoning_effort"),
        stream=stream,
        include_usage=bool(stream_options.get("include_usage")),
        metadata=v.metadata(body),
        user=v.opt_str(body, "user"),
        router_mode=v.opt_str(body, "router_mode"),
        raw=body,
    )


def _decode_message(msg: Any, param: str) -> list[Item]:
    if not isinstance(msg, dict):
        raise invalid_request(f"Invalid '{param}': expected an object.", param=param)
    role = msg.get("role")
    if role == "tool":
        call_id = msg.get("tool_call_id")
        if not isinstance(call_id, str):
            raise invalid_request(f"Missing '{param}.tool_call_id'.", param=f"{param}.tool_call_id")
        return [FunctionCallOutput(call_id=call_id, output=_text_of(msg.get("content"), f"{param}.content"))]
    if role not in _ROLES:
        raise invalid_request(
            f"Invalid '{param}.role': expected one of system, developer, user, assistant, tool.",
            param=f"{param}.role",
        )
    items: list[Item] = []
    content = msg.get("content")
    parts = _decode_content(content, f"{param}.content") if content is not None else []
    if role == "assistant" and isinstance(msg.get("refusal"), str) and not parts:
        parts = [TextPart(msg["refusal"])]
    if parts or not msg.get("tool_calls"):
        items.append(Message(role=_ROLES[role], content=parts))
    for j, call in enumerate(msg.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise invalid_request(f"Invalid '{param}.tool_calls[{j}]'.", param=f"{param}.tool_calls[{j}]")
        items.append(
            FunctionCall(
                call_id=str(call.get("id") or ""), name=fn["name"], arguments=fn.get("arguments") or ""
            )
        )
    return items


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
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append(TextPart(part["text"]))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise invalid_request(f"Invalid '{p}.image_url.url'.", param=f"{p}.image_url.url")
            detail = image.get("detail") if isinstance(image, dict) else None
            parts.append(ImagePart(url=url, detail=detail, param=p))
        elif kind == "file" and isinstance(part.get("file"), dict):
            f = part["file"]
            if not isinstance(f.get("file_data"), str) and not isinstance(f.get("file_id"), str):
                raise invalid_request(
                    f"Invalid '{p}.file': 'file_data' or 'file_id' is required.", param=f"{p}.file"
                )
            parts.append(
                FilePart(
                    data_url=f.get("file_data"), file_id=f.get("file_id"), filename=f.get("filename"), param=p
                )
            )
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append(TextPart(part["refusal"]))
        else:
            raise invalid_request(f"Invalid content part '{p}': unsupported type {kind!r}.", param=p)
    return parts


def _text_of(content: Any, param: str) -> str:
    if content is None:
        return ""
    return "".join(p.text for p in _decode_content(content, param) if isinstance(p, TextPart))


def _decode_tools(body: dict[str, Any]) -> list[Tool]:
    tools: list[Tool] = []
    for i, tool in enumerate(v.opt_list(body, "tools") or []):
        fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise invalid_request(
                f"Invalid 'tools[{i}]': expected a function tool with a name.", param=f"tools[{i}]"
            )
        tools.append(
            FunctionTool(
                name=fn["name"],
                description=fn.get("description"),
                parameters=fn.get("parameters"),
                strict=fn.get("strict"),
            )
        )
    web = v.opt_dict(body, "web_search_options")
    if web is not None:
        tools.append(WebSearchTool(options=web))
    return tools


def _decode_tool_choice(choice: Any) -> ToolChoice | None:
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return ToolChoice(ToolChoiceMode(choice))
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name")
        if isinstance(name, str):
            return ToolChoice(ToolChoiceMode.FUNCTION, name=name)
    raise invalid_request("Invalid 'tool_choice'.", param="tool_choice")


def _decode_response_format(fmt: dict[str, Any] | None) -> OutputFormat | None:
    if fmt is None:
        return None
    kind = fmt.get("type")
    if kind == "text":
        return OutputFormat(OutputFormatType.TEXT)
    if kind == "json_object":
        return OutputFormat(OutputFormatType.JSON_OBJECT)
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise invalid_request(
                "Missing 'response_format.json_schema.name'.", param="response_format.json_schema.name"
            )
        return OutputFormat(
            OutputFormatType.JSON_SCHEMA,
            name=spec["name"],
            schema=spec.get("schema"),
            strict=spec.get("strict"),
            description=spec.get("description"),
        )
    raise invalid_request("Invalid 'response_format.type'.", param="response_format.type")
