"""Canonical events -> the Responses event stream, in the exact order and shapes
the official SDKs' stream accumulators check (``output_item.added`` before
its deltas, the same item id through ``response.completed``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from gateway import logprobs
from gateway.canonical import (
    CanonicalRequest,
    CitationAdded,
    Event,
    Finish,
    FinishReason,
    ImageGenerationProgress,
    ReasoningDelta,
    ReasoningDone,
    ResponseStart,
    StreamError,
    TextDelta,
    TokenLogprob,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    UrlCitation,
    Usage,
    UsageEvent,
    WebSearchProgress,
)
from gateway.dialects.base import Finalize, add_fields
from gateway.dialects.responses.encode import (
    finish_status,
    function_call_item,
    image_generation_item,
    message_item,
    new_id,
    opaque_state,
    output_text,
    reasoning_item,
    response_id,
    response_object,
    url_citation,
    web_search_item,
)
from gateway.dialects.responses.errors import encode_stream_error


@dataclass(slots=True)
class _OpenItem:
    kind: str  # "message" | "reasoning" | "function_call"
    output_index: int
    id: str
    text: list[str] = field(default_factory=list)  # message text, or reasoning text
    summary: list[str] = field(default_factory=list)  # reasoning summary of the open part
    summary_open: bool = False
    summaries: list[str] = field(default_factory=list)  # finished summary parts
    call_id: str = ""
    name: str = ""
    citations: list[UrlCitation] = field(default_factory=list)  # message annotations so far
    statuses: set[str] = field(default_factory=set)  # hosted tool call: the status events sent
    tokens: list[TokenLogprob] | None = None  # a message's token log probabilities, when given


def _event_tokens(tokens: list[TokenLogprob] | None) -> list[dict[str, Any]]:
    """Token log probabilities as the text delta / done events spell them (no ``bytes``)."""
    return logprobs.to_wire(tokens, with_bytes=False) if tokens else []


class StreamEncoder:
    """Canonical events -> the Responses event stream (``event:`` lines,
    increasing ``sequence_number``), ending with ``response.completed``,
    ``response.incomplete`` or ``response.failed``."""

    def __init__(
        self,
        *,
        request: CanonicalRequest,
        finalize: Finalize,
        request_id: str = "",
    ) -> None:
        self._request = request
        self._finalize = finalize
        self._request_id = request_id
        self._seq = 0
        self._id = ""
        self._model = request.model
        self._created = 0
        self._usage: Usage | None = None
        self._output: list[dict[str, Any] | None] = []  # finished items by output_index
        self._text_item: _OpenItem | None = None  # the open message or reasoning item
        self._calls: dict[int, _OpenItem] = {}  # open function calls by canonical index
        self._hosted: dict[str, _OpenItem] = {}  # open web search / image generation calls by id
        self._started = False
        self._ended = False

    # ------------------------------------------------------------ framing

    def _event(self, kind: str, **data: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._seq, **data}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + msgspec.json.encode(payload) + b"\n\n"

    def _snapshot(self, status: str, **kwargs: Any) -> dict[str, Any]:
        return response_object(
            rid=self._id,
            model=self._model,
            created=self._created,
            status=status,
            output=kwargs.pop("output", []),
            usage=kwargs.pop("usage", None),
            request=self._request,
            **kwargs,
        )

    def _start(self, event: ResponseStart | None) -> bytes:
        self._started = True
        if event is not None:
            self._id = response_id(event.id)
            self._model = event.model or self._model
            self._created = event.created
        self._id = self._id or response_id("")
        self._created = self._created or int(time.time())
        snapshot = self._snapshot("in_progress")
        return self._event("response.created", response=snapshot) + self._event(
            "response.in_progress", response=snapshot
        )

    # -------------------------------------------------------------- items

    def _open(self, kind: str, prefix: str) -> _OpenItem:
        item = _OpenItem(kind=kind, output_index=len(self._output), id=new_id(prefix))
        self._output.append(None)
        return item

    def _open_text_item(self, kind: str, upstream_id: str | None = None) -> bytes:
        """Make the open message/reasoning item one of ``kind`` (and, when the
        upstream names its items, that very item)."""
        current = self._text_item
        if (
            current is not None
            and current.kind == kind
            and (upstream_id is None or upstream_id == current.id)
        ):
            return b""
        out = self._close_text_item()
        item = self._open(kind, "msg" if kind == "message" else "rs")
        if upstream_id:
            item.id = upstream_id
        self._text_item = item
        if kind == "message":
            out += self._event(
                "response.output_item.added",
                output_index=item.output_index,
                item=message_item(item.id, "", status="in_progress"),
            )
            out += self._event(
                "response.content_part.added",
                item_id=item.id,
                output_index=item.output_index,
                content_index=0,
                part=output_text(""),
            )
        else:
            out += self._event(
                "response.output_item.added",
                output_index=item.output_index,
                item=reasoning_item(item.id, [], None, None),
            )
        return out

    def _close_summary_part(self, item: _OpenItem) -> bytes:
        if not item.summary_open:
            return b""
        item.summary_open = False
        text = "".join(item.summary)
        index = len(item.summaries)
        item.summaries.append(text)
        item.summary = []
        common = {"item_id": item.id, "output_index": item.output_index, "summary_index": index}
        return self._event("response.reasoning_summary_text.done", text=text, **common) + self._event(
            "response.reasoning_summary_part.done", part={"type": "summary_text", "text": text}, **common
        )

    def _close_text_item(self, done: ReasoningDone | None = None) -> bytes:
        item = self._text_item
        if item is None:
            return b""
        self._text_item = None
        text = "".join(item.text)
        common = {"item_id": item.id, "output_index": item.output_index}
        if item.kind == "message":
            full = message_item(item.id, text, tokens=item.tokens, citations=item.citations)
            out = self._event(
                "response.output_text.done",
                content_index=0,
                text=text,
                logprobs=_event_tokens(item.tokens),
                **common,
            )
            out += self._event(
                "response.content_part.done",
                content_index=0,
                part=output_text(text, item.tokens, item.citations),
                **common,
            )
        else:
            out = self._close_summary_part(item)
            if text:
                out += self._event("response.reasoning_text.done", content_index=0, text=text, **common)
            state = None
            if done is not None:
                state = opaque_state(
                    encrypted_content=done.encrypted_content,
                    signature=done.signature,
                    provider=done.provider,
                    redacted=done.redacted,
                )
            full = reasoning_item(item.id, item.summaries, text or None, state)
        self._output[item.output_index] = full
        return out + self._event("response.output_item.done", output_index=item.output_index, item=full)

    def _close_call(self, index: int) -> bytes:
        item = self._calls.pop(index, None)
        if item is None:
            return b""
        arguments = "".join(item.text)
        full = function_call_item(item.id, item.call_id, item.name, arguments)
        self._output[item.output_index] = full
        return self._event(
            "response.function_call_arguments.done",
            item_id=item.id,
            output_index=item.output_index,
            arguments=arguments,
        ) + self._event("response.output_item.done", output_index=item.output_index, item=full)

    # ------------------------------------------------------------- events

    def encode(self, event: Event) -> bytes:
        if self._ended:
            return b""
        if isinstance(event, StreamError):
            self._ended = True
            return encode_stream_error(event.error, self._request_id, sequence_number=self._seq)
        if isinstance(event, ResponseStart):
            return b"" if self._started else self._start(event)
        out = b"" if self._started else self._start(None)
        if isinstance(event, TextDelta):
            out += self._open_text_item("message")
            item = self._text_item
            assert item is not None
            item.text.append(event.text)
            if event.logprobs is not None:
                if item.tokens is None:
                    item.tokens = []
                item.tokens.extend(event.logprobs)
            return out + self._event(
                "response.output_text.delta",
                item_id=item.id,
                output_index=item.output_index,
                content_index=0,
                delta=event.text,
                logprobs=_event_tokens(event.logprobs),
            )
        if isinstance(event, ReasoningDelta):
            return out + self._reasoning_delta(event)
        if isinstance(event, ReasoningDone):
            current = self._text_item
            if current is None or current.kind != "reasoning" or (event.id and event.id != current.id):
                out += self._open_text_item("reasoning", event.id)
            return out + self._close_text_item(event)
        if isinstance(event, ToolCallStart):
            out += self._close_text_item()
            item = self._open("function_call", "fc")
            item.call_id, item.name = event.call_id, event.name
            self._calls[event.index] = item
            return out + self._event(
                "response.output_item.added",
                output_index=item.output_index,
                item=function_call_item(item.id, item.call_id, item.name, "", status="in_progress"),
            )
        if isinstance(event, ToolCallDelta):
            call = self._calls.get(event.index)
            if call is None or not event.arguments:
                return out
            call.text.append(event.arguments)
            return out + self._event(
                "response.function_call_arguments.delta",
                item_id=call.id,
                output_index=call.output_index,
                delta=event.arguments,
            )
        if isinstance(event, ToolCallDone):
            return out + self._close_call(event.index)
        if isinstance(event, WebSearchProgress):
            return out + self._web_search(event)
        if isinstance(event, CitationAdded):
            return out + self._citation(event.citation)
        if isinstance(event, ImageGenerationProgress):
            return out + self._image_generation(event)
        if isinstance(event, UsageEvent):
            self._usage = event.usage
            return out
        if isinstance(event, Finish):
            return out + self._finish(event.reason)
        return out

    def _reasoning_delta(self, event: ReasoningDelta) -> bytes:
        out = self._open_text_item("reasoning", event.id)
        item = self._text_item
        assert item is not None
        common = {"item_id": item.id, "output_index": item.output_index}
        if not event.is_summary:
            item.text.append(event.text)
            return out + self._event(
                "response.reasoning_text.delta", content_index=0, delta=event.text, **common
            )
        if not item.summary_open:
            item.summary_open = True
            out += self._event(
                "response.reasoning_summary_part.added",
                summary_index=len(item.summaries),
                part={"type": "summary_text", "text": ""},
                **common,
            )
        item.summary.append(event.text)
        return out + self._event(
            "response.reasoning_summary_text.delta",
            summary_index=len(item.summaries),
            delta=event.text,
            **common,
        )

    # ------------------------------------------------------- hosted tools

    def _open_hosted(self, kind: str, upstream_id: str) -> tuple[_OpenItem, bytes]:
        """The open hosted call with this id, opened (``output_item.added`` +
        ``.in_progress``) if it is new."""
        item = self._hosted.get(upstream_id)
        if item is not None:
            return item, b""
        out = self._close_text_item()
        item = self._open(kind, "ws" if kind == "web_search_call" else "ig")
        item.id = upstream_id or item.id
        self._hosted[upstream_id] = item
        opened = (
            web_search_item(item.id, "in_progress")
            if kind == "web_search_call"
            else image_generation_item(item.id, None, "in_progress")
        )
        out += self._event("response.output_item.added", output_index=item.output_index, item=opened)
        return item, out + self._status(item, "in_progress")

    def _status(self, item: _OpenItem, status: str) -> bytes:
        if status in item.statuses:
            return b""
        item.statuses.add(status)
        return self._event(f"response.{item.kind}.{status}", item_id=item.id, output_index=item.output_index)

    def _web_search(self, event: WebSearchProgress) -> bytes:
        item, out = self._open_hosted("web_search_call", event.id)
        if event.status == "in_progress":
            return out
        out += self._status(item, "searching")
        if event.status == "searching":
            return out
        if event.status == "completed":
            out += self._status(item, "completed")
        full = web_search_item(item.id, event.status, event.query, event.sources)
        return out + self._close_hosted(event.id, full)

    def _image_generation(self, event: ImageGenerationProgress) -> bytes:
        item, out = self._open_hosted("image_generation_call", event.id)
        if event.status == "in_progress":
            return out
        out += self._status(item, "generating")
        if event.status == "partial_image":
            return out + self._event(
                "response.image_generation_call.partial_image",
                item_id=item.id,
                output_index=item.output_index,
                partial_image_b64=event.partial_image_b64 or "",
                partial_image_index=event.partial_image_index,
            )
        if event.status == "generating":
            return out
        if event.status == "completed":
            out += self._status(item, "completed")
        full = image_generation_item(item.id, event.call, event.status)
        return out + self._close_hosted(event.id, full)

    def _close_hosted(self, key: str, full: dict[str, Any]) -> bytes:
        item = self._hosted.pop(key)
        self._output[item.output_index] = full
        return self._event("response.output_item.done", output_index=item.output_index, item=full)

    def _citation(self, citation: UrlCitation) -> bytes:
        out = self._open_text_item("message")
        item = self._text_item
        assert item is not None
        item.citations.append(citation)
        return out + self._event(
            "response.output_text.annotation.added",
            item_id=item.id,
            output_index=item.output_index,
            content_index=0,
            annotation_index=len(item.citations) - 1,
            annotation=url_citation(citation),
        )

    def _finish(self, reason: FinishReason) -> bytes:
        self._ended = True
        out = self._close_text_item()
        for index in sorted(self._calls):
            out += self._close_call(index)
        for key, item in list(self._hosted.items()):
            # A hosted call the upstream never finished: closed as it stands.
            if item.kind == "web_search_call":
                out += self._close_hosted(key, web_search_item(item.id, "incomplete"))
            else:
                out += self._close_hosted(key, image_generation_item(item.id, None, "failed"))
        status, incomplete, error = finish_status(reason)
        usage = self._usage or Usage()
        final = self._snapshot(
            status,
            output=[item for item in self._output if item is not None],
            usage=usage,
            incomplete_details=incomplete,
            error=error,
        )
        add_fields(final, self._finalize(usage))
        kind = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(
            status, "response.failed"
        )
        return out + self._event(kind, response=final)

    def finish(self) -> bytes:
        return b""
