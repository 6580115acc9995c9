"""OpenAI Embeddings (``POST /v1/embeddings``): decode to canonical.

Embeddings are served by OpenAI-wire upstreams only, through the byte
pass-through; each input string becomes a user message so the firewall and
token estimates see the text like any prompt."""

from __future__ import annotations

from typing import Any

from gateway.canonical import CanonicalRequest, Dialect, Item, Message, Role, TextPart
from gateway.dialects import chat
from gateway.dialects import validate as v
from gateway.dialects.base import Translator
from gateway.dialects.splice import annotate
from gateway.errors import invalid_request

DIALECT = Dialect.EMBEDDINGS
# Served by the byte pass-through only: no provider translates embeddings.
TRANSLATOR: Translator | None = None
MAX_INPUTS = 2048


def decode(body: dict[str, Any], headers: dict[str, str]) -> CanonicalRequest:
    v.check_tree(body)
    model = v.require(body, "model")
    if not isinstance(model, str) or not model:
        raise invalid_request("Invalid 'model': expected a non-empty string.", param="model")
    raw_input = v.require(body, "input")
    texts = raw_input if isinstance(raw_input, list) else [raw_input]
    if not texts or len(texts) > MAX_INPUTS:
        raise invalid_request(f"Invalid 'input': give 1 to {MAX_INPUTS} inputs.", param="input")
    items: list[Item] = []
    for i, text in enumerate(texts):
        if isinstance(text, str):
            items.append(Message(role=Role.USER, content=[TextPart(text)]))
        elif not (
            isinstance(text, int) or (isinstance(text, list) and all(isinstance(t, int) for t in text))
        ):
            raise invalid_request(
                f"Invalid 'input[{i}]': expected a string or an array of token ids.", param=f"input[{i}]"
            )
    fmt = v.opt_str(body, "encoding_format")
    if fmt not in (None, "float", "base64"):
        raise invalid_request(
            "Invalid 'encoding_format': expected 'float' or 'base64'.", param="encoding_format"
        )
    v.opt_int(body, "dimensions", minimum=1)
    return CanonicalRequest(dialect=DIALECT, model=model, items=items, user=v.opt_str(body, "user"), raw=body)


error_body = chat.error_body
encode_error = chat.encode_error
encode_stream_error = chat.encode_stream_error

__all__ = ["DIALECT", "TRANSLATOR", "annotate", "decode", "encode_error", "encode_stream_error", "error_body"]
