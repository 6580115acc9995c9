"""The Chat Completions request body as msgspec Structs: the types of every
field ``decode`` reads, checked before it reads them (``validate.convert``).
Fields Junction does not read are not listed: they pass through unchecked."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

NonEmpty = Annotated[str, Meta(min_length=1)]
Metadata = Annotated[dict[str, str], Meta(max_length=16)]


class FunctionRef(Struct):
    name: str
    arguments: str | None = None  # JSON text, as the model produced it


class ToolCall(Struct):
    function: FunctionRef
    id: str | None = None
    type: Literal["function"] = "function"


class ImageUrl(Struct):
    url: str
    detail: str | None = None


class FileRef(Struct):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class TextContent(Struct, tag_field="type", tag="text"):
    text: str


class ImageContent(Struct, tag_field="type", tag="image_url"):
    image_url: ImageUrl | str


class FileContent(Struct, tag_field="type", tag="file"):
    file: FileRef


class RefusalContent(Struct, tag_field="type", tag="refusal"):
    refusal: str


ContentPart = TextContent | ImageContent | FileContent | RefusalContent
Content = str | list[ContentPart] | None


class ChatMessage(Struct):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Content = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None
    name: str | None = None


class FunctionDef(Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionToolDef(Struct, tag_field="type", tag="function"):
    function: FunctionDef


class NamedFunction(Struct):
    name: str


class FunctionChoice(Struct, tag_field="type", tag="function"):
    function: NamedFunction


class JsonSchemaSpec(Struct):
    name: str
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class TextFormat(Struct, tag_field="type", tag="text"):
    pass


class JsonObjectFormat(Struct, tag_field="type", tag="json_object"):
    pass


class JsonSchemaFormat(Struct, tag_field="type", tag="json_schema"):
    json_schema: JsonSchemaSpec


class StreamOptions(Struct):
    include_usage: bool | None = None


class ChatBody(Struct):
    model: NonEmpty
    messages: Annotated[list[ChatMessage], Meta(min_length=1)]
    tools: list[FunctionToolDef] | None = None
    tool_choice: Literal["auto", "none", "required"] | FunctionChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: TextFormat | JsonObjectFormat | JsonSchemaFormat | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    max_completion_tokens: Annotated[int, Meta(ge=1)] | None = None
    max_tokens: Annotated[int, Meta(ge=1)] | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Meta(ge=-2, le=2)] | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None  # OpenAI's range
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None  # OpenAI's range
    reasoning_effort: str | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    metadata: Metadata | None = None
    user: str | None = None
    router_mode: str | None = None
    web_search_options: dict[str, Any] | None = None
