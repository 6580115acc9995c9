"""The canonical request, response and event stream.

Every inbound dialect decodes into these types and encodes from them; every
provider encodes from them and decodes into them. Translation is therefore
N + M, never N x M. The shapes follow the Responses API (the richest of the
three public dialects). Plain slotted dataclasses: cheap to build, no
per-chunk validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    SYSTEM = "system"
    DEVELOPER = "developer"
    USER = "user"
    ASSISTANT = "assistant"


# ---------------------------------------------------------------- content parts


@dataclass(slots=True)
class UrlCitation:
    """A web source the text cites: characters ``start_index`` up to
    ``end_index`` (Python string indices into the part's text) rest on ``url``."""

    url: str
    title: str = ""
    start_index: int = 0
    end_index: int = 0


@dataclass(slots=True)
class TokenLogprob:
    """One sampled token's log probability (``logprobs`` / ``top_logprobs``),
    with the most likely alternatives at its position in ``top``."""

    token: str
    logprob: float
    bytes: list[int] | None = None
    top: list[TokenLogprob] = field(default_factory=list)


@dataclass(slots=True)
class TextPart:
    text: str
    # Provider-specific annotations that must survive a same-provider round trip
    # (Anthropic ``cache_control``, OpenAI ``annotations``). Never interpreted.
    extra: dict[str, Any] | None = None
    # Web citations on the answer's text (hosted web search), in text order.
    citations: list[UrlCitation] | None = None
    # The answer's token log probabilities, when the request asked for them.
    logprobs: list[TokenLogprob] | None = None


@dataclass(slots=True)
class FileTextPart(TextPart):
    """Text Junction read from a file the caller referenced (``files.inputs``).
    A text part to every provider; the firewall scans it on its own, as it is
    not in the caller's raw body."""

    file_id: str | None = None


@dataclass(slots=True)
class ImagePart:
    """An image given by http(s) URL, by ``data:<mime>;base64,...`` URL, or
    by a Junction file id (``files.inputs`` turns the id into a data URL
    before any provider sees the part)."""

    url: str
    detail: str | None = None  # "auto" | "low" | "high"
    file_id: str | None = None
    # Where the caller gave it (``input[0].content[1]``), for errors; not part of its value.
    param: str | None = field(default=None, compare=False)


@dataclass(slots=True)
class FilePart:
    """A document given inline (data URL), by http(s) URL, or by a Junction
    file id (resolved to a data URL by ``files.inputs``)."""

    data_url: str | None = None
    file_id: str | None = None
    filename: str | None = None
    url: str | None = None  # ``file_url``
    param: str | None = field(default=None, compare=False)  # as ImagePart.param
    # The content type of a file by URL when Junction knows it (a file it
    # uploaded to Gemini's Files API: ``files.upstream``).
    media_type: str | None = None


Part = TextPart | ImagePart | FilePart


# ---------------------------------------------------------------------- items


@dataclass(slots=True)
class Message:
    role: Role
    content: list[Part]
    id: str | None = None


@dataclass(slots=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str  # JSON text, exactly as produced by the model
    id: str | None = None


@dataclass(slots=True)
class FunctionCallOutput:
    call_id: str
    output: str
    is_error: bool = False


@dataclass(slots=True)
class Reasoning:
    """Model reasoning. ``summary`` is shown to people; the opaque fields carry
    state back to the same provider on the next turn (OpenAI
    ``encrypted_content``, Anthropic thinking ``signature`` or
    ``redacted_thinking`` data, Gemini ``thoughtSignature``)."""

    summary: list[str] = field(default_factory=list)
    text: str | None = None  # full thinking text where the provider exposes it
    encrypted_content: str | None = None
    signature: str | None = None
    redacted: bool = False
    provider: str | None = None  # which provider kind produced the opaque state
    id: str | None = None


@dataclass(slots=True)
class WebSearchCall:
    """A hosted web search the upstream ran (OpenAI ``web_search_call``,
    Anthropic ``server_tool_use`` + ``web_search_tool_result``, Gemini
    grounding). ``sources`` are the result URLs where the upstream lists them.
    ``provider``/``state`` carry what only that provider can read back on a
    later turn (Anthropic's encrypted result blocks)."""

    id: str | None = None
    status: str = "completed"  # "in_progress" | "searching" | "completed" | "failed"
    query: str | None = None
    sources: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # beside ``sources``, where known
    provider: str | None = None
    state: Any = None


@dataclass(slots=True)
class ImageGenerationCall:
    """A hosted image generation (OpenAI ``image_generation_call``, a Gemini
    image part). ``result`` is the image as base64; ``url`` is Junction's
    signed link to the stored copy, set by the stage that stores it."""

    id: str | None = None
    status: str = "completed"  # "in_progress" | "generating" | "completed" | "failed"
    result: str | None = None
    mime: str = "image/png"
    revised_prompt: str | None = None
    size: str | None = None
    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    url: str | None = None


Item = Message | FunctionCall | FunctionCallOutput | Reasoning | WebSearchCall | ImageGenerationCall


# ---------------------------------------------------------------------- tools


@dataclass(slots=True)
class FunctionTool:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(slots=True)
class WebSearchTool:
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImageGenerationTool:
    options: dict[str, Any] = field(default_factory=dict)


Tool = FunctionTool | WebSearchTool | ImageGenerationTool


class ToolChoiceMode(StrEnum):
    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"
    FUNCTION = "function"  # a named function, see ToolChoice.name


@dataclass(slots=True)
class ToolChoice:
    mode: ToolChoiceMode
    name: str | None = None


class OutputFormatType(StrEnum):
    TEXT = "text"
    JSON_OBJECT = "json_object"
    JSON_SCHEMA = "json_schema"


@dataclass(slots=True)
class OutputFormat:
    type: OutputFormatType
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class Dialect(StrEnum):
    CHAT = "chat"
    RESPONSES = "responses"
    MESSAGES = "messages"
    EMBEDDINGS = "embeddings"
    IMAGES = "images"
    MODELS = "models"


# -------------------------------------------------------------------- request


@dataclass(slots=True)
class CanonicalRequest:
    dialect: Dialect
    model: str
    items: list[Item] = field(default_factory=list)
    instructions: str | None = None
    tools: list[Tool] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    output_format: OutputFormat | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_output_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    n: int | None = None
    logprobs: bool | None = None  # chat ``logprobs``; Responses ``include: ["message.output_text.logprobs"]``
    top_logprobs: int | None = None
    reasoning_effort: str | None = None  # "minimal" | "low" | "medium" | "high" | "none"
    reasoning_summary: str | None = None  # "auto" | "concise" | "detailed"
    stream: bool = False
    include_usage: bool = False  # the client asked for usage in the stream (chat)
    metadata: dict[str, str] | None = None
    user: str | None = None
    router_mode: str | None = None
    # Headers a provider may forward (e.g. ``anthropic-beta``), lower-cased.
    passthrough_headers: dict[str, str] = field(default_factory=dict)
    # The decoded inbound JSON body, kept so the same-dialect fast path can
    # forward parameters Junction does not model (never re-validated).
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def wants_logprobs(self) -> bool:
        """Token log probabilities were asked for (``top_logprobs`` > 0 implies it)."""
        return bool(self.logprobs) or bool(self.top_logprobs)


# ------------------------------------------------------------ usage, response


class FinishReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0  # part of input_tokens: read from a cache
    output_tokens: int = 0
    reasoning_tokens: int = 0  # part of output_tokens
    web_search_calls: int = 0
    images: int = 0
    cache_write_tokens: int = 0  # part of input_tokens: written to a cache (Anthropic)
    cache_write_1h_tokens: int = 0  # part of cache_write_tokens: for an hour, not 5 minutes

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(slots=True)
class CanonicalResponse:
    id: str
    model: str
    output: list[Item] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = FinishReason.STOP
    created: int = 0
    stop_sequence: str | None = None  # which of the request's stop sequences ended it, when told


# --------------------------------------------------------------------- events


@dataclass(slots=True)
class ResponseStart:
    id: str
    model: str
    created: int = 0


@dataclass(slots=True)
class TextDelta:
    text: str
    logprobs: list[TokenLogprob] | None = None  # the tokens of ``text``, when asked for


@dataclass(slots=True)
class ReasoningDelta:
    text: str
    is_summary: bool = True
    # The upstream's reasoning item id, where it has one (OpenAI ``rs_...``):
    # OpenAI expects it back beside ``encrypted_content`` on the next turn.
    id: str | None = None


@dataclass(slots=True)
class ReasoningDone:
    """End of a reasoning block, carrying its opaque state."""

    encrypted_content: str | None = None
    signature: str | None = None
    redacted: bool = False
    provider: str | None = None
    id: str | None = None  # as ReasoningDelta.id


@dataclass(slots=True)
class ToolCallStart:
    index: int  # position among this response's tool calls
    call_id: str
    name: str


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    arguments: str


@dataclass(slots=True)
class ToolCallDone:
    index: int


@dataclass(slots=True)
class WebSearchProgress:
    """A hosted search moved on: ``in_progress``, ``searching``, then
    ``completed`` (with what was searched, where known)."""

    id: str
    status: str
    query: str | None = None
    sources: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CitationAdded:
    """A citation on the text streamed so far in the open message."""

    citation: UrlCitation


@dataclass(slots=True)
class ImageGenerationProgress:
    """A hosted image generation moved on: ``in_progress``, ``generating``,
    ``partial_image`` (with ``partial_image_b64`` and its index) and
    ``completed`` (with the finished ``call``)."""

    id: str
    status: str
    partial_image_b64: str | None = None
    partial_image_index: int = 0
    call: ImageGenerationCall | None = None


@dataclass(slots=True)
class UsageEvent:
    usage: Usage


@dataclass(slots=True)
class Finish:
    reason: FinishReason
    stop_sequence: str | None = None  # which of the request's stop sequences ended it, when told


@dataclass(slots=True)
class StreamError:
    error: Any  # gateway.errors.GatewayError; typed loosely to keep this module import-free


Event = (
    ResponseStart
    | TextDelta
    | ReasoningDelta
    | ReasoningDone
    | ToolCallStart
    | ToolCallDelta
    | ToolCallDone
    | WebSearchProgress
    | CitationAdded
    | ImageGenerationProgress
    | UsageEvent
    | Finish
    | StreamError
)
