"""The Anthropic Messages request body as msgspec Structs: the types of every
field ``decode`` reads, checked before it reads them (``validate.convert``,
with Anthropic's dotted paths: ``messages.0.content.1``). Fields Junction does
not read pass through unchecked (the Anthropic pass-through forwards them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

NonEmpty = Annotated[str, Meta(min_length=1)]


class Source(Struct):
    type: str
    data: str | None = None
    media_type: str | None = None
    url: str | None = None
    file_id: str | None = None


class TextBlock(Struct, tag_field="type", tag="text"):
    text: str
    cache_control: dict[str, Any] | None = None


class ImageBlock(Struct, tag_field="type", tag="image"):
    source: Source


class DocumentBlock(Struct, tag_field="type", tag="document"):
    source: Source
    title: str | None = None


class ToolUseBlock(Struct, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any] | None = None


class ToolResultBlock(Struct, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[TextBlock] | None = None
    is_error: bool | None = None


class ThinkingBlock(Struct, tag_field="type", tag="thinking"):
    thinking: str | None = None
    signature: str | None = None


class RedactedThinkingBlock(Struct, tag_field="type", tag="redacted_thinking"):
    data: str | None = None


class ServerToolUseBlock(Struct, tag_field="type", tag="server_tool_use"):
    id: str
    name: str
    input: dict[str, Any] | None = None


class WebSearchToolResultBlock(Struct, tag_field="type", tag="web_search_tool_result"):
    tool_use_id: str
    content: Any = None  # the results (list) or an error object, kept as given


Block = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
    | ServerToolUseBlock
    | WebSearchToolResultBlock
)


class MessageParam(Struct):
    role: Literal["user", "assistant"]
    content: str | list[Block]


class CustomTool(Struct):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    strict: bool | None = None
    type: Literal["custom"] | None = None


class ToolChoiceParam(Struct):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class ThinkingParam(Struct):
    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: Annotated[int, Meta(ge=1)] | None = None


class OutputFormatParam(Struct):
    type: Literal["json_schema"]
    schema: dict[str, Any]


class OutputConfig(Struct):
    format: OutputFormatParam | None = None
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None


class MetadataParam(Struct):
    user_id: str | None = None


class MessagesBody(Struct):
    model: NonEmpty
    max_tokens: Annotated[int, Meta(ge=0)]
    messages: list[MessageParam]
    system: str | list[TextBlock] | None = None
    tools: list[dict[str, Any]] | None = None  # each converted by its type (web search or ``CustomTool``)
    tool_choice: ToolChoiceParam | None = None
    output_config: OutputConfig | None = None
    temperature: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    top_k: Annotated[int, Meta(ge=0)] | None = None
    stop_sequences: list[str] | None = None
    thinking: ThinkingParam | None = None
    stream: bool | None = None
    metadata: MetadataParam | None = None
    router_mode: str | None = None
