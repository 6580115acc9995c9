"""Where the texts are: in a request (raw JSON body and canonical items) and
in a non-streaming answer (OpenAI and Anthropic JSON bodies, or the canonical
response). Each walker yields ``(container, key)`` slots holding a string, so
the caller can read and replace the text in place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from firewall.engine.policy import Session
from firewall.engine.types import Scope
from gateway.canonical import (
    CanonicalRequest,
    CanonicalResponse,
    FileTextPart,
    FunctionCall,
    FunctionCallOutput,
    Message,
    Reasoning,
    TextPart,
)

Slot = tuple[Any, Any]  # (dict or list, key or index) whose value is a str


def _str_slot(container: Any, key: Any) -> Iterator[Slot]:
    try:
        value = container[key]
    except (KeyError, IndexError, TypeError):
        return
    if isinstance(value, str):
        yield container, key


def _all_strings(value: Any) -> Iterator[Slot]:
    """Every string inside a JSON value (tool-use input objects)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                yield value, k
            else:
                yield from _all_strings(v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str):
                yield value, i
            else:
                yield from _all_strings(v)


_TEXT_KEYS = ("text", "refusal")


def _content(container: dict[str, Any], key: str) -> Iterator[Slot]:
    """``content``: a string, or a list of parts with text (any dialect)."""
    value = container.get(key)
    if isinstance(value, str):
        yield container, key
        return
    if not isinstance(value, list):
        return
    for part in value:
        if not isinstance(part, dict):
            continue
        for text_key in _TEXT_KEYS:
            yield from _str_slot(part, text_key)
        kind = part.get("type")
        if kind == "tool_result":
            yield from _content(part, "content")
        elif kind == "tool_use":
            yield from _all_strings(part.get("input"))


def _chat_prompt(body: dict[str, Any]) -> Iterator[Slot]:
    for msg in body.get("messages") or ():
        if not isinstance(msg, dict):
            continue
        yield from _content(msg, "content")
        yield from _str_slot(msg, "refusal")
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                yield from _str_slot(fn, "arguments")


def _responses_prompt(body: dict[str, Any]) -> Iterator[Slot]:
    yield from _str_slot(body, "instructions")
    value = body.get("input")
    if isinstance(value, str):
        yield body, "input"
        return
    for item in value or ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            yield from _content(item, "content")
        elif kind == "function_call":
            yield from _str_slot(item, "arguments")
        elif kind == "function_call_output":
            yield from _content(item, "output")
        elif kind == "reasoning":
            for part in (item.get("summary") or []) + (item.get("content") or []):
                if isinstance(part, dict):
                    yield from _str_slot(part, "text")


def _messages_prompt(body: dict[str, Any]) -> Iterator[Slot]:
    yield from _content(body, "system")
    for msg in body.get("messages") or ():
        if isinstance(msg, dict):
            yield from _content(msg, "content")


def _embeddings_prompt(body: dict[str, Any]) -> Iterator[Slot]:
    value = body.get("input")
    if isinstance(value, str):
        yield body, "input"
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str):
                yield value, i


def _images_prompt(body: dict[str, Any]) -> Iterator[Slot]:
    yield from _str_slot(body, "prompt")


PROMPT_WALKERS = {
    "chat": _chat_prompt,
    "responses": _responses_prompt,
    "messages": _messages_prompt,
    "embeddings": _embeddings_prompt,
    "images": _images_prompt,
}


def raw_metadata(body: dict[str, Any]) -> Iterator[Slot]:
    meta = body.get("metadata")
    if isinstance(meta, dict):
        for key, value in meta.items():
            if isinstance(value, str):
                yield meta, key
    yield from _str_slot(body, "user")


def canonical_prompt(req: CanonicalRequest) -> Iterator[Slot]:
    if req.instructions:
        yield from _attr(req, "instructions")
    for item in req.items:
        if isinstance(item, Message):
            for part in item.content:
                if isinstance(part, TextPart):
                    yield from _attr(part, "text")
        elif isinstance(item, FunctionCall):
            yield from _attr(item, "arguments")
        elif isinstance(item, FunctionCallOutput):
            yield from _attr(item, "output")
        elif isinstance(item, Reasoning):
            yield from ((item.summary, i) for i in range(len(item.summary)))
            if item.text:
                yield from _attr(item, "text")


def file_texts(req: CanonicalRequest) -> Iterator[Slot]:
    for item in req.items:
        if isinstance(item, Message):
            for part in item.content:
                if isinstance(part, FileTextPart):
                    yield from _attr(part, "text")


def canonical_metadata(req: CanonicalRequest) -> Iterator[Slot]:
    if req.metadata:
        for key in list(req.metadata):
            yield req.metadata, key
    if req.user:
        yield from _attr(req, "user")


class _AttrSlot:
    """Adapts an attribute to the ``container[key]`` protocol."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __getitem__(self, name: str) -> Any:
        return getattr(self.obj, name)

    def __setitem__(self, name: str, value: Any) -> None:
        setattr(self.obj, name, value)


def _attr(obj: Any, name: str) -> Iterator[Slot]:
    if isinstance(getattr(obj, name, None), str):
        yield _AttrSlot(obj), name


def apply(session: Session, slots: Iterator[Slot], scope: Scope, *, record: bool = True) -> None:
    for container, key in list(slots):
        text = container[key]
        new = session.process(text, scope, record=record)
        if new is not text and new != text:
            container[key] = new


def process_request(session: Session, req: CanonicalRequest) -> None:
    """Metadata then prompt scope, on the raw body (counted: it is what the
    fast path forwards) and on the canonical items (masked the same way)."""
    dialect = str(req.dialect)
    walker = PROMPT_WALKERS.get(dialect)
    engine = session.engine
    if engine.has(Scope.METADATA):
        apply(session, raw_metadata(req.raw), Scope.METADATA)
        apply(session, canonical_metadata(req), Scope.METADATA, record=False)
    if engine.has(Scope.PROMPT):
        if walker is not None and req.raw:
            apply(session, walker(req.raw), Scope.PROMPT)
            apply(session, file_texts(req), Scope.PROMPT)  # read from files: not in the raw body
            apply(session, canonical_prompt(req), Scope.PROMPT, record=False)
        else:
            apply(session, canonical_prompt(req), Scope.PROMPT)


# ---------------------------------------------------------------- answers


def _chat_answer(body: dict[str, Any]) -> Iterator[Slot]:
    for choice in body.get("choices") or ():
        msg = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(msg, dict):
            continue
        yield from _content(msg, "content")
        yield from _str_slot(msg, "refusal")
        for call in msg.get("tool_calls") or ():
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict):
                yield from _str_slot(fn, "arguments")


def _responses_answer(body: dict[str, Any]) -> Iterator[Slot]:
    for item in body.get("output") or ():
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            yield from _content(item, "content")
        elif kind == "function_call":
            yield from _str_slot(item, "arguments")
        elif kind == "reasoning":
            for part in item.get("summary") or ():
                if isinstance(part, dict):
                    yield from _str_slot(part, "text")
    yield from _str_slot(body, "output_text")


def _messages_answer(body: dict[str, Any]) -> Iterator[Slot]:
    yield from _content(body, "content")


ANSWER_WALKERS = {"chat": _chat_answer, "responses": _responses_answer, "messages": _messages_answer}


def process_answer_body(session: Session, dialect: str, body: Any) -> bool:
    """Response scope on a decoded JSON answer, in place. True if a text changed."""
    walker = ANSWER_WALKERS.get(dialect)
    if walker is None or not isinstance(body, dict):
        return False
    changed = False
    for container, key in list(walker(body)):
        text = container[key]
        new = session.process(text, Scope.RESPONSE)
        if new != text:
            container[key] = new
            changed = True
    return changed


def process_answer(session: Session, resp: CanonicalResponse) -> CanonicalResponse:
    slots: list[Slot] = []
    for item in resp.output:
        if isinstance(item, Message):
            for part in item.content:
                if isinstance(part, TextPart):
                    slots.extend(_attr(part, "text"))
        elif isinstance(item, FunctionCall):
            slots.extend(_attr(item, "arguments"))
        elif isinstance(item, Reasoning):
            slots.extend((item.summary, i) for i in range(len(item.summary)))
    apply(session, iter(slots), Scope.RESPONSE)
    return resp
