"""Google Gemini API (``{base}/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``, key in ``x-goog-api-key``) as an upstream.

Mappings worth knowing (also in docs/compatibility):

* Gemini function calls have no ids: a stable ``call_…`` id is derived from
  the response id, the call's position and its name; a tool output is sent
  back as a ``functionResponse`` named after the call with that id earlier in
  the conversation.
* ``thoughtSignature`` becomes a ``Reasoning`` item (provider ``gemini``)
  just before the part it was on, and rides on that part again next turn.
* ``reasoning_effort`` -> ``thinkingConfig.thinkingBudget`` (none 0, minimal
  512, low 1024, medium 8192, high 24576) with ``includeThoughts``.
* usage: output = candidates + thoughts tokens; reasoning = thoughts.
"""

from __future__ import annotations

from gateway.canonical import Dialect
from gateway.providers.base import PassThrough
from gateway.providers.gemini.request import THINKING_BUDGETS, build_request
from gateway.providers.gemini.response import (
    StreamDecoder,
    call_id,
    finish_reason,
    map_error,
    parse_response,
    usage_from,
)

PROVIDER = "gemini"
KIND = "gemini"


def passthrough(dialect: Dialect) -> PassThrough | None:
    """No inbound dialect speaks Gemini's wire: every call is translated."""
    return None


__all__ = [
    "KIND",
    "PROVIDER",
    "THINKING_BUDGETS",
    "StreamDecoder",
    "build_request",
    "call_id",
    "finish_reason",
    "map_error",
    "parse_response",
    "passthrough",
    "usage_from",
]
