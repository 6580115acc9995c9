"""OpenAI (provider kind ``openai``).

* Same wire: a chat, responses or embeddings caller is served by the byte
  pass-through (``passthrough``, ``openai.passthrough``).
* Translation path (a Messages caller, or a stage that must rewrite the
  answer): canonical -> the Responses API (``openai.request``), Responses
  JSON / SSE -> canonical (``openai.response``).
* ``openai.chat`` is the Chat Completions codec the ``openai_compatible``
  provider is built on; ``openai.wire`` the paths, usage objects and error
  body both share.
"""

from __future__ import annotations

from gateway.canonical import Dialect
from gateway.providers.base import PassThrough
from gateway.providers.openai.passthrough import CHAT, EMBEDDINGS, RESPONSES
from gateway.providers.openai.request import build_request
from gateway.providers.openai.response import KIND, StreamDecoder, parse_response
from gateway.providers.openai.wire import map_error

NATIVE: dict[Dialect, PassThrough] = {
    Dialect.CHAT: CHAT,
    Dialect.RESPONSES: RESPONSES,
    Dialect.EMBEDDINGS: EMBEDDINGS,
}


def passthrough(dialect: Dialect) -> PassThrough | None:
    return NATIVE.get(dialect)


__all__ = ["KIND", "StreamDecoder", "build_request", "map_error", "parse_response", "passthrough"]
