"""Junction's fields into a same-wire JSON answer without re-encoding it
(every JSON dialect's ``annotate``)."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.dialects.base import AnswerFields, PassedAnswer

USAGE_KEY = b'"usage"'


def splice_fields(body: bytes, fields: dict[str, Any]) -> bytes:
    """Add top-level fields to a JSON object without re-encoding it."""
    if not fields:
        return body
    start = body.find(b"{")
    if start < 0:
        return body
    encoded = msgspec.json.encode(fields)[1:-1]
    rest = body[start + 1 :].lstrip()
    sep = b"" if rest.startswith(b"}") else b","
    return body[: start + 1] + encoded + sep + rest


def splice_usage(body: bytes, fields: dict[str, Any]) -> bytes:
    """Add fields to the top-level ``usage`` object of a JSON body without
    re-encoding it. The last ``"usage": {`` is the top-level one (it follows
    ``choices`` / ``output`` / ``content``; string contents can't hold an
    unescaped quote)."""
    if not fields:
        return body
    at = body.rfind(USAGE_KEY)
    while at >= 0:
        rest = body[at + 7 :].lstrip()
        if rest.startswith(b":") and rest[1:].lstrip().startswith(b"{"):
            brace = body.index(b"{", at)
            inner = body[brace + 1 :].lstrip()
            sep = b"" if inner.startswith(b"}") else b","
            return body[: brace + 1] + msgspec.json.encode(fields)[1:-1] + sep + inner
        at = body.rfind(USAGE_KEY, 0, at)
    return body


def annotate(answer: PassedAnswer, fields: AnswerFields) -> bytes:
    """The answer's bytes (re-encoded only if a stage edited it) with Junction's
    top-level fields and the fields of its usage object."""
    body = msgspec.json.encode(answer.decoded) if answer.edited else answer.body
    return splice_usage(splice_fields(body, fields), fields.usage)
