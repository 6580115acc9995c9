"""How much an answer said, in characters, when the upstream did not say how
many tokens it used: the same estimate a cut stream is charged on (4
characters a token), for answers that arrive whole. Pure."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.canonical import CanonicalResponse, FunctionCall, Message, Reasoning, TextPart

# Keys whose string values are what a model wrote, in any dialect's JSON answer
# (chat ``content`` / ``refusal`` / tool ``arguments``; Responses and Messages
# ``text``; Anthropic ``thinking``). Everything else (ids, roles, types,
# finish reasons, signatures) is the envelope.
TEXT_KEYS = frozenset({"content", "text", "refusal", "arguments", "thinking"})


def answer_chars(resp: CanonicalResponse) -> int:
    chars = 0
    for item in resp.output:
        if isinstance(item, Message):
            chars += sum(len(p.text) for p in item.content if isinstance(p, TextPart))
        elif isinstance(item, FunctionCall):
            chars += len(item.arguments)
        elif isinstance(item, Reasoning):
            chars += sum(len(t) for t in item.summary) + len(item.text or "")
    return chars


def passed_answer_chars(decoded: Any) -> int:
    """A same-wire JSON answer (chat, Responses or Messages), walked once."""
    if isinstance(decoded, dict):
        chars = 0
        for key, value in decoded.items():
            if key in TEXT_KEYS and isinstance(value, str):
                chars += len(value)
            elif key == "input" and isinstance(value, dict):  # an Anthropic tool_use's arguments
                chars += len(msgspec.json.encode(value))
            else:
                chars += passed_answer_chars(value)
        return chars
    if isinstance(decoded, list):
        return sum(passed_answer_chars(v) for v in decoded)
    return 0
