"""What routing looks at in a request, computed once per call (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from gateway.canonical import (
    CanonicalRequest,
    Dialect,
    FilePart,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImageGenerationTool,
    ImagePart,
    Message,
    OutputFormatType,
    TextPart,
    WebSearchTool,
)

# Rough token estimates: routing needs "does it fit", not an exact count.
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 800
FILE_TOKENS = 2_000
DEFAULT_OUTPUT_TOKENS = 500


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    model: str
    mode: str | None
    text: str
    metadata: dict[str, str]
    api_key_prefix: str | None
    input_tokens: int
    output_tokens: int  # what the client asked for, or a default, for price estimates
    max_output_tokens: int | None
    needs: frozenset[str]  # catalog capability names the request requires
    has_tools: bool
    has_images: bool
    has_files: bool


def metadata_of(request: CanonicalRequest) -> dict[str, str]:
    """``metadata`` plus, when ``user`` is a JSON object, its keys (metadata wins)."""
    merged: dict[str, str] = {}
    user = request.user
    if user and user.lstrip().startswith("{"):
        try:
            decoded = msgspec.json.decode(user)
        except msgspec.DecodeError:
            decoded = None
        if isinstance(decoded, dict):
            for key, value in decoded.items():
                merged[str(key)] = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    merged.update(request.metadata or {})
    return merged


def request_features(request: CanonicalRequest, *, api_key_prefix: str | None = None) -> RequestFeatures:
    texts: list[str] = []
    if request.instructions:
        texts.append(request.instructions)
    images = files = 0
    for item in request.items:
        if isinstance(item, Message):
            for part in item.content:
                if isinstance(part, TextPart):
                    texts.append(part.text)
                elif isinstance(part, ImagePart):
                    images += 1
                elif isinstance(part, FilePart):
                    files += 1
        elif isinstance(item, FunctionCall):
            texts.append(item.arguments)
        elif isinstance(item, FunctionCallOutput):
            texts.append(item.output)
    text = "\n".join(texts)
    needs: set[str] = set()
    if request.stream:
        needs.add("streaming")
    has_tools = any(isinstance(t, FunctionTool) for t in request.tools)
    if has_tools:
        needs.add("tools")
    if any(isinstance(t, WebSearchTool) for t in request.tools):
        needs.add("web_search")
    if any(isinstance(t, ImageGenerationTool) for t in request.tools):
        needs.add("image_generation_tool")  # gateway.hosted_tools
    fmt = request.output_format.type if request.output_format else None
    if fmt is OutputFormatType.JSON_SCHEMA:
        needs.add("json_schema")
    elif fmt is OutputFormatType.JSON_OBJECT:
        needs.add("json_object")
    if images:
        needs.add("vision")
    if files:
        needs.add("files")
    if request.reasoning_effort and request.reasoning_effort != "none":
        needs.add("reasoning")
    if request.wants_logprobs:
        needs.add("logprobs")
    if request.dialect is Dialect.EMBEDDINGS:
        needs.add("embeddings")
    elif request.dialect is Dialect.IMAGES:
        needs.add("image_generation")
    if request.dialect is Dialect.EMBEDDINGS:
        # Each input is embedded on its own: the longest must fit, not the sum.
        longest = max((len(t) for t in texts), default=0)
        text_chars = longest
    else:
        text_chars = len(text)
    tool_chars = sum(
        len(str(t.parameters or "")) + len(t.name) for t in request.tools if isinstance(t, FunctionTool)
    )
    input_tokens = (text_chars + tool_chars) // CHARS_PER_TOKEN + images * IMAGE_TOKENS + files * FILE_TOKENS
    return RequestFeatures(
        model=request.model,
        mode=request.router_mode,
        text=text,
        metadata=metadata_of(request),
        api_key_prefix=api_key_prefix,
        input_tokens=input_tokens,
        output_tokens=request.max_output_tokens or DEFAULT_OUTPUT_TOKENS,
        max_output_tokens=request.max_output_tokens,
        needs=frozenset(needs),
        has_tools=has_tools,
        has_images=images > 0,
        has_files=files > 0,
    )
