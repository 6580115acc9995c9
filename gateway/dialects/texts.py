"""Where the texts are in each dialect's JSON: a request body (prompt and
metadata scopes) and a non-streaming answer body. Each walker yields
``(container, key)`` slots holding a string, so a caller (the firewall) can
read and replace the text in place without knowing the wire format."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gateway.dialects.base import TextSlot as Slot


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


PROMPT_WALKERS: dict[str, Walker] = {
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


ANSWER_WALKERS: dict[str, Walker] = {
    "chat": _chat_answer,
    "responses": _responses_answer,
    "messages": _messages_answer,
}


Walker = Callable[[dict[str, Any]], Iterator[Slot]]


def prompt_texts(dialect: str, body: dict[str, Any]) -> Iterator[Slot] | None:
    """The prompt's texts in a request body, or None for a dialect without a walker."""
    walker = PROMPT_WALKERS.get(dialect)
    return walker(body) if walker is not None else None


def answer_texts(dialect: str, body: Any) -> Iterator[Slot]:
    """The texts of a non-streaming answer body (none for an unknown dialect or shape)."""
    walker = ANSWER_WALKERS.get(dialect)
    if walker is None or not isinstance(body, dict):
        return iter(())
    return walker(body)
