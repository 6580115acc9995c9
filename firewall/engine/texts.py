"""The firewall over a call's texts: a request (its raw JSON body, whose texts
``gateway.dialects.texts`` finds, and its canonical items) and a
non-streaming answer (a same-wire JSON body, or the canonical response). Each
walker yields ``(container, key)`` slots holding a string, read and replaced
in place."""

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
from gateway.dialects.base import TextSlot as Slot
from gateway.dialects.texts import answer_texts, prompt_texts, raw_metadata


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
    fast path forwards; its texts found by ``gateway.dialects.texts``) and on
    the canonical items (masked the same way)."""
    engine = session.engine
    if engine.has(Scope.METADATA):
        apply(session, raw_metadata(req.raw), Scope.METADATA)
        apply(session, canonical_metadata(req), Scope.METADATA, record=False)
    if engine.has(Scope.PROMPT):
        raw_prompt = prompt_texts(str(req.dialect), req.raw) if req.raw else None
        if raw_prompt is not None:
            apply(session, raw_prompt, Scope.PROMPT)
            apply(session, file_texts(req), Scope.PROMPT)  # read from files: not in the raw body
            apply(session, canonical_prompt(req), Scope.PROMPT, record=False)
        else:
            apply(session, canonical_prompt(req), Scope.PROMPT)


def process_answer_body(session: Session, dialect: str, body: Any) -> bool:
    """Response scope on a decoded JSON answer, in place. True if a text changed."""
    changed = False
    for container, key in list(answer_texts(dialect, body)):
        text = container[key]
        new = session.process(text, Scope.RESPONSE)
        if new != text:
            container[key] = new
            changed = True
    if changed:
        _drop_body_logprobs(body)
    return changed


def _drop_body_logprobs(body: Any) -> None:
    """Token log probabilities spell out the original text: gone once it is masked."""
    for choice in body.get("choices") or []:
        if isinstance(choice, dict) and choice.get("logprobs") is not None:
            choice["logprobs"] = None
    for item in body.get("output") or []:
        for part in (item.get("content") or []) if isinstance(item, dict) else []:
            if isinstance(part, dict) and part.get("logprobs"):
                part["logprobs"] = []


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
    before = [container[key] for container, key in slots]
    apply(session, iter(slots), Scope.RESPONSE)
    if any(container[key] != text for (container, key), text in zip(slots, before, strict=True)):
        # Token log probabilities spell out the original text: gone once it is masked.
        for item in resp.output:
            for part in item.content if isinstance(item, Message) else []:
                if isinstance(part, TextPart):
                    part.logprobs = None
    return resp
