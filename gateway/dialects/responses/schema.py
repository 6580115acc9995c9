"""The Responses request body as msgspec Structs: the types of every field
``decode`` reads, checked before it reads them (``validate.convert``). An
input item may leave out its ``type`` (a message), so items are converted one
by one, by their type (``ITEMS``). Fields Junction does not read pass through
unchecked."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

NonEmpty = Annotated[str, Meta(min_length=1)]
Metadata = Annotated[dict[str, str], Meta(max_length=16)]


class TextContent(Struct):
    type: Literal["input_text", "output_text", "text", "summary_text"]
    text: str


class RefusalContent(Struct, tag_field="type", tag="refusal"):
    refusal: str


class ImageContent(Struct, tag_field="type", tag="input_image"):
    image_url: str | None = None
    detail: str | None = None
    file_id: str | None = None


class FileContent(Struct, tag_field="type", tag="input_file"):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None
    file_url: str | None = None


CONTENT_PARTS = {
    "input_text": TextContent,
    "output_text": TextContent,
    "text": TextContent,
    "summary_text": TextContent,
    "refusal": RefusalContent,
    "input_image": ImageContent,
    "input_file": FileContent,
}
ContentPart = TextContent | RefusalContent | ImageContent | FileContent


class MessageItem(Struct):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]]  # each part converted by its type (``CONTENT_PARTS``)
    type: Literal["message"] = "message"
    id: str | None = None


class FunctionCallItem(Struct):
    call_id: str
    name: str
    arguments: str | None = None
    type: Literal["function_call"] = "function_call"
    id: str | None = None


class OutputText(Struct):
    text: str | None = None


class FunctionCallOutputItem(Struct):
    call_id: str
    output: str | list[OutputText] | None = None
    type: Literal["function_call_output"] = "function_call_output"


class SummaryText(Struct):
    text: str | None = None


class ReasoningItem(Struct):
    summary: list[SummaryText] | None = None
    content: list[SummaryText] | None = None
    encrypted_content: str | None = None
    type: Literal["reasoning"] = "reasoning"
    id: str | None = None


class WebSearchSource(Struct):
    url: str
    type: str = "url"


class WebSearchAction(Struct):
    type: str = "search"
    query: str | None = None
    sources: list[WebSearchSource] | None = None


class WebSearchCallItem(Struct):
    id: str
    status: str | None = None
    action: WebSearchAction | None = None
    type: Literal["web_search_call"] = "web_search_call"


class ImageGenerationCallItem(Struct):
    id: str
    status: str | None = None
    result: str | None = None
    type: Literal["image_generation_call"] = "image_generation_call"


ITEMS = {
    "message": MessageItem,
    "function_call": FunctionCallItem,
    "function_call_output": FunctionCallOutputItem,
    "reasoning": ReasoningItem,
    "web_search_call": WebSearchCallItem,
    "image_generation_call": ImageGenerationCallItem,
}


class FunctionToolDef(Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


TOOLS = ("function", "web_search", "web_search_preview", "image_generation")


class FunctionChoice(Struct, tag_field="type", tag="function"):
    name: str


class TextFormat(Struct, tag_field="type", tag="text"):
    pass


class JsonObjectFormat(Struct, tag_field="type", tag="json_object"):
    pass


class JsonSchemaFormat(Struct, tag_field="type", tag="json_schema"):
    name: str
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class TextOptions(Struct):
    format: TextFormat | JsonObjectFormat | JsonSchemaFormat | None = None


class ReasoningOptions(Struct):
    effort: str | None = None
    summary: str | None = None


class ResponsesBody(Struct):
    model: NonEmpty
    input: str | list[dict[str, Any]]  # each item converted by its type (``ITEMS``)
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None  # each tool converted by its type (``TOOLS``)
    tool_choice: Literal["auto", "none", "required"] | FunctionChoice | None = None
    parallel_tool_calls: bool | None = None
    text: TextOptions | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    max_output_tokens: Annotated[int, Meta(ge=1)] | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None  # OpenAI's range
    include: list[str] | None = None
    reasoning: ReasoningOptions | None = None
    stream: bool | None = None
    metadata: Metadata | None = None
    user: str | None = None
    router_mode: str | None = None
    previous_response_id: str | None = None
    store: bool | None = None
