"""Provider kind ``openai``, the request side of the translation path:
canonical request -> the Responses API (the answer side is
``gateway.providers.openai.response``).

Used when the caller's dialect is not OpenAI's (a Messages caller), or when a
stage must rewrite the answer (then a chat caller is served from Responses
too). Requests are stateless: ``store: false``, and for reasoning models
``include: ["reasoning.encrypted_content"]`` so reasoning state comes back
with the answer and is carried into the next turn inside the input items.

Refused (the Responses API has no such parameter): ``stop``, ``seed``,
``presence_penalty``, ``frequency_penalty``, ``n`` > 1 (one answer per
request), ``top_k``. Token log probabilities are asked for with
``top_logprobs`` and ``include: ["message.output_text.logprobs"]``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

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
    OutputFormatType,
    Part,
    Reasoning,
    Role,
    TextPart,
    Tool,
    ToolChoiceMode,
    WebSearchCall,
    WebSearchTool,
)
from gateway.errors import unsupported_parameter
from gateway.providers.base import UpstreamRequest
from gateway.providers.openai.response import KIND, PROVIDER_KIND
from gateway.providers.openai.wire import auth_headers
from gateway.providers.web_search import refuse_options, search_options
from gateway.reasoning_state import state_for

# How each dialect spells the stop parameter, for the refusal to name it.
_STOP_PARAM = {Dialect.MESSAGES: "stop_sequences"}
# What the Responses API needs in ``include`` to return token log probabilities.
LOGPROBS_INCLUDE = "message.output_text.logprobs"
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
        if part.url is not None:
            out["file_url"] = part.url
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
    if isinstance(item, WebSearchCall):
        # OpenAI takes back only the searches it ran; another provider's
        # search is history whose findings the assistant text already carries.
        if item.provider != PROVIDER_KIND or not item.id:
            return None
        action: dict[str, Any] = {"type": "search", "query": item.query or ""}
        if item.sources:
            action["sources"] = [{"type": "url", "url": url} for url in item.sources]
        return {"type": "web_search_call", "id": item.id, "status": item.status, "action": action}
    if isinstance(item, ImageGenerationCall):
        return {"type": "image_generation_call", "id": item.id, "status": item.status, "result": item.result}
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


def _web_search_tool(tool: WebSearchTool, param: str) -> dict[str, Any]:
    options = search_options(tool)
    if options.anthropic is None:
        out = dict(tool.options)
        if options.user_location is not None:
            # Chat's ``web_search_options.user_location`` nests the fields.
            out["user_location"] = {"type": "approximate", **options.user_location}
        return {"type": "web_search", **out}
    # Anthropic's server tool from a Messages caller: its options in OpenAI's words.
    refuse_options(
        options,
        allowed={"allowed_domains", "user_location"},
        param=param,
        provider=KIND,
        detail="OpenAI's web search takes allowed_domains and user_location only.",
    )
    spec: dict[str, Any] = {"type": "web_search"}
    if options.allowed_domains:
        spec["filters"] = {"allowed_domains": options.allowed_domains}
    if options.user_location is not None:
        spec["user_location"] = {"type": "approximate", **options.user_location}
    return spec


def _tool(tool: Tool, param: str) -> dict[str, Any]:
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
        return _web_search_tool(tool, param)
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
    include: list[str] = []
    if req.reasoning_effort or replays_reasoning or _REASONING_MODEL.match(upstream_model):
        include.append("reasoning.encrypted_content")
    if req.wants_logprobs:
        include.append(LOGPROBS_INCLUDE)
        body["top_logprobs"] = req.top_logprobs or 0
    if include:
        body["include"] = include
    if req.instructions:
        body["instructions"] = req.instructions
    if req.tools:
        body["tools"] = [_tool(t, f"tools[{i}]") for i, t in enumerate(req.tools)]
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
