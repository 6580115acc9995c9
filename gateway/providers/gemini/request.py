"""Canonical request -> Gemini ``generateContent`` body."""

from __future__ import annotations

import mimetypes
from typing import Any

import msgspec

from gateway.canonical import (
    CanonicalRequest,
    FilePart,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImageGenerationCall,
    ImageGenerationTool,
    ImagePart,
    Message,
    OutputFormatType,
    Part,
    Reasoning,
    Role,
    TextPart,
    ToolChoiceMode,
    WebSearchTool,
)
from gateway.errors import invalid_request, unsupported_parameter, unsupported_tool
from gateway.providers.base import UpstreamRequest
from gateway.providers.content import call_arguments, split_data_url
from gateway.providers.gemini import grounding
from gateway.providers.params import param_name
from gateway.providers.web_search import tool_param
from gateway.reasoning_state import state_for

PROVIDER = "gemini"
# reasoning_effort -> thinkingBudget (tokens). "none" turns thinking off
# (only where the model allows it; Gemini answers 400 otherwise).
THINKING_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576}


def build_request(
    req: CanonicalRequest,
    *,
    upstream_model: str,
    base_url: str,
    api_key: str,
    headers: dict[str, str] | None = None,
) -> UpstreamRequest:
    _refuse_unsupported(req)
    system, contents = _contents(req)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    _apply_tools(req, body)
    config = _generation_config(req)
    if any(isinstance(t, ImageGenerationTool) for t in req.tools):
        config["responseModalities"] = grounding.image_modalities(req)  # an image model's tool
    if config:
        body["generationConfig"] = config
    action = "streamGenerateContent?alt=sse" if req.stream else "generateContent"
    out_headers = {"content-type": "application/json"}
    if api_key:
        out_headers["x-goog-api-key"] = api_key
    return UpstreamRequest(
        url=f"{base_url}/models/{upstream_model}:{action}",
        body=msgspec.json.encode(body),
        headers=out_headers,
        stream=req.stream,
    )


# Gemini's ``responseLogprobs`` exists for some models only, and Junction does not translate it.
_NO_LOGPROBS = "Junction does not translate Gemini's log probabilities (docs/compatibility.md)."


def _refuse_unsupported(req: CanonicalRequest) -> None:
    if req.logprobs:
        raise unsupported_parameter(param_name(req, "logprobs"), PROVIDER, _NO_LOGPROBS)
    if req.top_logprobs:
        raise unsupported_parameter("top_logprobs", PROVIDER, _NO_LOGPROBS)
    if req.n is not None and req.n > 1:
        raise unsupported_parameter("n", PROVIDER, "Junction serves one candidate per request from Gemini.")
    if req.parallel_tool_calls is False and req.tools:
        raise unsupported_parameter(
            param_name(req, "parallel_tool_calls"),
            PROVIDER,
            "Gemini cannot be told to make at most one call per turn.",
        )
    if req.reasoning_effort is not None and req.reasoning_effort not in THINKING_BUDGETS:
        raise unsupported_parameter(
            param_name(req, "reasoning_effort"),
            PROVIDER,
            f"Effort {req.reasoning_effort!r} has no thinking budget mapping.",
        )
    if req.stop and len(req.stop) > 5:
        raise invalid_request("Gemini accepts at most 5 stop sequences.", param=param_name(req, "stop"))


def _generation_config(req: CanonicalRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, value in (
        ("temperature", req.temperature),
        ("topP", req.top_p),
        ("topK", req.top_k),
        ("maxOutputTokens", req.max_output_tokens),
        ("stopSequences", req.stop or None),
        ("seed", req.seed),
        ("presencePenalty", req.presence_penalty),
        ("frequencyPenalty", req.frequency_penalty),
    ):
        if value is not None:
            config[key] = value
    fmt = req.output_format
    if fmt is not None and fmt.type is not OutputFormatType.TEXT:
        config["responseMimeType"] = "application/json"
        if fmt.type is OutputFormatType.JSON_SCHEMA:
            if not isinstance(fmt.schema, dict):
                name = param_name(req, "output_format")
                raise invalid_request(f"'{name}' needs a JSON schema.", param=name)
            config["responseJsonSchema"] = fmt.schema
    if req.reasoning_effort is not None:
        budget = THINKING_BUDGETS[req.reasoning_effort]
        config["thinkingConfig"] = {"thinkingBudget": budget, "includeThoughts": budget > 0}
    elif req.reasoning_summary is not None:
        config["thinkingConfig"] = {"includeThoughts": True}
    return config


def _apply_tools(req: CanonicalRequest, body: dict[str, Any]) -> None:
    declarations: list[dict[str, Any]] = []
    hosted: list[dict[str, Any]] = []
    for i, tool in enumerate(req.tools):
        if isinstance(tool, WebSearchTool):
            hosted.append(grounding.search_tool(tool, tool_param(req.dialect, i, tool)))
            continue
        if isinstance(tool, ImageGenerationTool):
            grounding.refuse_image_options(tool, f"tools[{i}]")
            continue
        if not isinstance(tool, FunctionTool):
            kind = "image_generation"  # the one hosted tool left
            raise unsupported_tool(
                f"tools[{i}]", f"Tool type '{kind}' cannot be served by Gemini.", provider=PROVIDER
            )
        decl: dict[str, Any] = {"name": tool.name}
        if tool.description:
            decl["description"] = tool.description
        if tool.parameters:
            decl["parametersJsonSchema"] = tool.parameters
        declarations.append(decl)
    if declarations or hosted:
        body["tools"] = ([{"functionDeclarations": declarations}] if declarations else []) + hosted
    tc = req.tool_choice
    if tc is None or not declarations:
        return
    config: dict[str, Any]
    if tc.mode is ToolChoiceMode.AUTO:
        config = {"mode": "AUTO"}
    elif tc.mode is ToolChoiceMode.NONE:
        config = {"mode": "NONE"}
    elif tc.mode is ToolChoiceMode.REQUIRED:
        config = {"mode": "ANY"}
    else:
        config = {"mode": "ANY", "allowedFunctionNames": [tc.name]}
    body["toolConfig"] = {"functionCallingConfig": config}


def _contents(req: CanonicalRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    if req.instructions:
        system.append({"text": req.instructions})
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # call id -> function name (Gemini answers by name)
    pending_signature: str | None = None

    def flush_signature() -> None:
        # A signature with no model part after it in its turn came on an empty
        # closing text part (as streams end); it goes back the same way.
        nonlocal pending_signature
        if pending_signature is not None:
            if not contents or contents[-1]["role"] != "model":
                contents.append({"role": "model", "parts": []})
            contents[-1]["parts"].append({"text": "", "thoughtSignature": pending_signature})
            pending_signature = None

    def add(role: str, part: dict[str, Any]) -> None:
        nonlocal pending_signature
        if role == "model" and pending_signature is not None:
            part["thoughtSignature"] = pending_signature
            pending_signature = None
        elif role != "model":
            flush_signature()
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].append(part)
        else:
            contents.append({"role": role, "parts": [part]})

    for i, item in enumerate(req.items):
        param = f"items[{i}]"
        if isinstance(item, Message):
            if item.role in (Role.SYSTEM, Role.DEVELOPER):
                for part in item.content:
                    if not isinstance(part, TextPart):
                        raise unsupported_parameter(param, PROVIDER, "System messages may only hold text.")
                    system.append({"text": part.text})
                continue
            role = "model" if item.role is Role.ASSISTANT else "user"
            for part in item.content:
                encoded = _part(part, param)
                if encoded is not None:
                    add(role, encoded)
        elif isinstance(item, FunctionCall):
            names[item.call_id] = item.name
            add("model", {"functionCall": {"name": item.name, "args": call_arguments(item, param)}})
        elif isinstance(item, FunctionCallOutput):
            name = names.get(item.call_id)
            if name is None:
                raise invalid_request(
                    f"Tool output '{item.call_id}' answers no tool call in this conversation; Gemini needs "
                    "the call (with its name) before its output.",
                    param=param,
                )
            add("user", {"functionResponse": {"name": name, "response": _tool_response(item)}})
        elif isinstance(item, ImageGenerationCall) and item.result:
            # An image the model made, back as its own output (multi-turn editing).
            add("model", {"inlineData": {"mimeType": grounding.base64_image_type(item), "data": item.result}})
        elif isinstance(item, Reasoning):
            # Thought text is not sent back (Gemini keeps its own); the
            # signature rides on the next model part, where it came from.
            state = state_for(
                PROVIDER,
                signature=item.signature,
                encrypted_content=item.encrypted_content,
                owner=item.provider,
            )
            pending_signature = state or None
    flush_signature()
    return system, contents


def _part(part: Part, param: str) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        return _media(part.url, param, default_mime="image/jpeg")
    if isinstance(part, FilePart):
        if part.data_url is None and part.url is None:
            raise unsupported_parameter(
                f"{param}.file_id", PROVIDER, "Send the document inline as a data URL."
            )
        return _media(
            part.data_url or part.url or "", param, default_mime="application/pdf", mime=part.media_type
        )
    raise invalid_request(f"Unsupported content in '{param}'.", param=param)


def _media(url: str, param: str, *, default_mime: str, mime: str | None = None) -> dict[str, Any]:
    if url.startswith("data:"):
        mime, data = split_data_url(url, param)
        return {"inlineData": {"mimeType": mime, "data": data}}
    if url.startswith(("http://", "https://", "gs://")):
        mime = mime or mimetypes.guess_type(url.split("?", 1)[0])[0] or default_mime
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    raise invalid_request(f"Invalid URL in '{param}'.", param=param)


def _tool_response(item: FunctionCallOutput) -> dict[str, Any]:
    """Gemini wants an object: a JSON object output as is, anything else wrapped."""
    key = "error" if item.is_error else "result"
    try:
        value = msgspec.json.decode(item.output)
    except msgspec.DecodeError:
        return {key: item.output}
    if isinstance(value, dict) and not item.is_error:
        return value
    return {key: value}
